//! The real server on port 0 with a fresh database (`scheduler_testkit::TestDb`): a temporary
//! SQLite file, or, when `TEST_DATABASE_URL` names a PostgreSQL server, a new database on it,
//! dropped at the end.

use std::sync::Arc;

use api_server::{Application, Config};
pub use scheduler_testkit::{postgres_configured, Backend, Counts, Response, TestDb};
use serde_json::{json, Value};

/// A running server and what the test needs to talk to it and to look at its database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// Sent as `Authorization: Bearer …` when set.
    pub token: Option<String>,
    /// The server's database (shared with other instances of the same test).
    pub db: Arc<TestDb>,
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}).await
}

/// Starts the server on a fresh database with the default configuration changed by
/// `configure`.
pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
    let db = Arc::new(TestDb::new(backend));
    let mut config = Config::new("127.0.0.1:0", db.url.clone());
    config.db_pool_size = 4;
    configure(&mut config);
    start(config, db).await
}

async fn start(config: Config, db: Arc<TestDb>) -> TestApp {
    let token = config.api_token.clone();
    let app = Application::build(config).await.expect("the server starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
        token,
        db,
    }
}

impl TestApp {
    /// A second server on the same database (as behind a load balancer).
    pub async fn another_instance(&self) -> TestApp {
        let config = Config::new("127.0.0.1:0", self.db.url.clone());
        start(config, Arc::clone(&self.db)).await
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
        Response::read(response).await.expect("a whole answer")
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

    pub fn counts(&self) -> Counts {
        self.db.counts()
    }

    /// Moves a log's time into the past (as if it had become due), bypassing the API.
    pub fn make_due(&self, log_id: &str) {
        self.db.make_due(log_id);
    }

    /// Moves a log to `at` behind the server's back (see `TestDb::move_to`).
    pub fn move_to(&self, log_id: &str, at: chrono::DateTime<chrono::Utc>) {
        self.db.move_to(log_id, at);
    }

    /// Drops the PostgreSQL database under the running server (the database "goes away").
    pub fn drop_database(&mut self) {
        Arc::get_mut(&mut self.db)
            .expect("no other instance shares the database")
            .drop_postgres();
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
