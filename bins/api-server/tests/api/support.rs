//! The real server on port 0 with a fresh database: a temporary SQLite file, or, when
//! `TEST_DATABASE_URL` names a PostgreSQL server, a new `api_test_<uuid>` database on it,
//! dropped at the end (`scheduler_testkit::PgDatabase`).

use api_server::{Application, Config};
use diesel::prelude::*;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use scheduler_store::{connect, Conn, DatabaseUrl};
use scheduler_testkit::PgDatabase;
pub use scheduler_testkit::{postgres_configured, Backend};
use serde_json::{json, Value};

/// A running server and what the test needs to talk to it and to look at its database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub database_url: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub token: Option<String>,
    _dir: tempfile::TempDir,
    _database: Option<PgDatabase>,
}

/// A response: status, headers and the body parsed as JSON (`Value::Null` when it is not
/// JSON, which every test treats as a failure through [`Response::json_content_type`]).
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Response {
    pub fn is_json(&self) -> bool {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
            && serde_json::from_str::<Value>(&self.text).is_ok()
    }

    /// Asserts the status and that the body is `{"error": <non-empty string>}`.
    #[track_caller]
    pub fn assert_error(&self, status: u16) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert!(self.is_json(), "not JSON: {self:?}");
        let obj = self.body.as_object().expect("an object");
        assert_eq!(obj.len(), 1, "{}", self.text);
        assert!(
            obj["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{}",
            self.text
        );
    }

    /// Asserts the status and the schedule endpoint's rejected shape; returns the reason.
    #[track_caller]
    pub fn assert_rejected(&self, status: u16) -> String {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert!(self.is_json(), "not JSON: {self:?}");
        let obj = self.body.as_object().expect("an object");
        assert_eq!(obj.len(), 3, "{}", self.text);
        assert_eq!(obj["publish_log_id"], "", "{}", self.text);
        assert_eq!(obj["status"], "rejected", "{}", self.text);
        obj["reason"].as_str().expect("a reason").to_owned()
    }
}

/// Row counts of every table the API writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub accounts: i64,
    pub clips: i64,
    pub logs: i64,
    pub events: i64,
    pub keys: i64,
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}).await
}

/// Starts the server with the default configuration changed by `configure`.
pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, database) = match backend {
        Backend::Sqlite => (
            dir.path().join("test.db").to_str().unwrap().to_owned(),
            None,
        ),
        Backend::Postgres => {
            let database = PgDatabase::create("api_test").expect("TEST_DATABASE_URL is set");
            (database.url().to_owned(), Some(database))
        }
    };
    let mut config = Config::new("127.0.0.1:0", database_url.clone());
    config.db_pool_size = 4;
    configure(&mut config);
    let token = config.api_token.clone();
    let app = Application::build(config).await.expect("the server starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
        database_url,
        token,
        _dir: dir,
        _database: database,
    }
}

impl TestApp {
    /// A second server on the same database (as behind a load balancer).
    pub async fn another_instance(&self) -> TestApp {
        let config = Config::new("127.0.0.1:0", self.database_url.clone());
        let app = Application::build(config).await.expect("the server starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            database_url: self.database_url.clone(),
            token: None,
            _dir: tempfile::tempdir().unwrap(),
            _database: None,
        }
    }

    pub fn request(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let builder = self
            .client
            .request(method, format!("{}{}", self.address, path));
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn send(&self, builder: reqwest::RequestBuilder) -> Response {
        let response = builder.send().await.expect("the server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Response {
            status,
            headers,
            text,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(self.request("GET", path)).await
    }

    /// POSTs `body` as JSON.
    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.send(self.request("POST", path).json(body)).await
    }

    /// POSTs raw bytes with no `Content-Type`.
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Response {
        self.send(self.request("POST", path).body(body)).await
    }

    /// Creates an account (`id` on `platform` in `zone`) and returns its JSON.
    pub async fn account(&self, id: &str, platform: &str, zone: &str) -> Value {
        let r = self
            .post(
                "/accounts",
                &json!({"id": id, "platform": platform, "timezone": zone}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body
    }

    /// Creates a clip and returns its JSON.
    pub async fn clip(&self, id: &str) -> Value {
        let r = self.post("/clips", &json!({"id": id})).await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body
    }

    /// Schedules `clip` on `account` (Instagram) at `time`.
    pub async fn schedule(&self, clip: &str, account: &str, time: &str) -> Response {
        self.post(
            "/publishing/schedule",
            &json!({"clip_id": clip, "platform": "instagram", "social_account_id": account,
                    "scheduled_for": time}),
        )
        .await
    }

    fn conn(&self) -> Conn {
        connect(&DatabaseUrl::parse(&self.database_url).unwrap(), false).unwrap()
    }

    pub fn counts(&self) -> Counts {
        use scheduler_store::schema::{
            clips, idempotency_keys, ledger_events, publish_logs, social_accounts,
        };
        let conn = &mut self.conn();
        Counts {
            accounts: social_accounts::table.count().get_result(conn).unwrap(),
            clips: clips::table.count().get_result(conn).unwrap(),
            logs: publish_logs::table.count().get_result(conn).unwrap(),
            events: ledger_events::table.count().get_result(conn).unwrap(),
            keys: idempotency_keys::table.count().get_result(conn).unwrap(),
        }
    }

    /// Drops the PostgreSQL database under the running server (the database "goes away").
    pub fn drop_database(&mut self) {
        self._database.take().expect("a PostgreSQL database");
    }

    /// Moves a log's time into the past (as if it had become due), bypassing the API.
    pub fn make_due(&self, log_id: &str) {
        use scheduler_store::schema::publish_logs::dsl as p;
        let past = chrono::DateTime::parse_from_rfc3339("2020-01-01T20:00:00Z")
            .unwrap()
            .naive_utc();
        diesel::update(p::publish_logs.filter(p::id.eq(log_id)))
            .set(p::scheduled_for.eq(past))
            .execute(&mut self.conn())
            .unwrap();
    }
}

/// Asserts that `value` is an instant as the API writes it: `YYYY-MM-DDTHH:MM:SSZ`.
#[track_caller]
pub fn assert_instant(value: &Value) {
    let text = value.as_str().expect("a string");
    assert_eq!(text.len(), 20, "{text}");
    assert!(text.ends_with('Z'), "{text}");
    assert!(chrono::DateTime::parse_from_rfc3339(text).is_ok(), "{text}");
}

/// Runs each async test body on SQLite and, when configured, on PostgreSQL:
/// `async fn name(backend) { … }` becomes the tests `name::sqlite` and `name::postgres`.
macro_rules! both_backends {
    ($(async fn $name:ident($backend:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let $backend = $crate::support::Backend::Sqlite;
                $body
            }

            #[tokio::test]
            async fn postgres() {
                if $crate::support::postgres_configured() {
                    let $backend = $crate::support::Backend::Postgres;
                    $body
                }
            }
        }
    )*};
}
pub(crate) use both_backends;
