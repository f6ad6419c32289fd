//! Helpers of the end-to-end tests: the real `api-server` and `tick-runner` binaries started
//! as separate processes ([`Server`], [`tick_loop`], [`tick_once`]) and the checks of the
//! contract's guarantees on what is stored ([`Audit`], [`assert_no_leak`]). Rows written
//! straight into the database come from `scheduler_testkit` ([`insert_due_logs`]).

pub mod webdriver;

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use scheduler_store::Conn;
use serde_json::Value;

pub use scheduler_testkit::{
    backends, binary, collect_stderr, insert_account_and_clip, insert_due_logs,
    postgres_configured, sql_time, Answer, Backend, FakePlatform, Process, Proxy, Received,
    Response as Resp, TestDb,
};

/// How long a server may take to start (migrations included) before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `api-server` process on `127.0.0.1:<free port>`; killed on drop.
#[derive(Debug)]
pub struct Server {
    child: Mutex<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Sent as `Authorization: Bearer …` by [`Server::call`] when set.
    pub token: Option<String>,
    stderr: Arc<Mutex<String>>,
    client: reqwest::blocking::Client,
}

impl Server {
    /// Starts `api-server --bind 127.0.0.1:0 --database-url URL ARGS…` and waits until it
    /// listens.
    pub fn start(url: &str, args: &[&str]) -> Self {
        Self::start_with_token(url, None, args)
    }

    /// The same, with `--api-token TOKEN` when `token` is set.
    pub fn start_with_token(url: &str, token: Option<&str>, args: &[&str]) -> Self {
        Self::start_on(0, url, token, args)
    }

    /// The same on `127.0.0.1:port` (0: any free port): a server restarted on its port is
    /// found again by the clients that knew it.
    pub fn start_on(port: u16, url: &str, token: Option<&str>, args: &[&str]) -> Self {
        let mut command = Command::new(binary("api-server"));
        let bind = format!("127.0.0.1:{port}");
        command
            .env_clear()
            .env("RUST_LOG", "info")
            .args(["--bind", &bind, "--database-url", url])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(token) = token {
            command.args(["--api-token", token]);
        }
        let mut child = command.spawn().expect("api-server starts");
        let (send, port) = mpsc::channel();
        let mut send = Some(send);
        let stderr = collect_stderr(&mut child, move |line| {
            if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                if let (Some(send), Ok(p)) = (send.take(), digits.parse::<u16>()) {
                    let _ = send.send(p);
                }
            }
        });
        let started = Instant::now();
        let port = loop {
            if let Ok(port) = port.recv_timeout(Duration::from_millis(100)) {
                break port;
            }
            if let Ok(Some(status)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "api-server exited at start ({status}):\n{}",
                    stderr.lock().unwrap()
                );
            }
            if started.elapsed() > START_TIMEOUT {
                let _ = child.kill();
                panic!(
                    "api-server did not listen within {START_TIMEOUT:?}:\n{}",
                    stderr.lock().unwrap()
                );
            }
        };
        Self {
            child: Mutex::new(child),
            base: format!("http://127.0.0.1:{port}"),
            token: token.map(str::to_owned),
            stderr,
            client: client(),
        }
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("the stderr lock").clone()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.lock().expect("the child lock").id()
    }

    /// SIGKILL, and waits for the process to be gone.
    pub fn kill9(&self) {
        let mut child = self.child.lock().expect("the child lock");
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Whether the process is still running.
    pub fn is_running(&self) -> bool {
        matches!(
            self.child.lock().expect("the child lock").try_wait(),
            Ok(None)
        )
    }

    /// A request with the token (when the server has one); `body` is sent as raw bytes with
    /// no `Content-Type` (the API reads JSON whatever the content type).
    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> Resp {
        self.call_auth(method, path, body, self.token.as_deref())
            .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"))
    }

    /// A request with `token` as the bearer token (or none); `Err` when no answer came.
    pub fn call_auth(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        token: Option<&str>,
    ) -> Result<Resp, reqwest::Error> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut builder = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            builder = builder.bearer_auth(token);
        }
        if let Some(body) = body {
            builder = builder.body(body.to_owned());
        }
        send(builder)
    }

    /// A request with the token and one more header; panics when no answer came.
    pub fn call_auth_with_header(
        &self,
        method: &str,
        path: &str,
        body: &str,
        header: (&str, &str),
    ) -> Resp {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut builder = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header(header.0, header.1)
            .body(body.to_owned());
        if let Some(token) = &self.token {
            builder = builder.bearer_auth(token);
        }
        send(builder).unwrap_or_else(|e| panic!("{path}: no answer: {e}"))
    }

    /// A request with the token and a body of raw bytes (not necessarily UTF-8); panics when
    /// no answer came.
    pub fn call_bytes(&self, method: &str, path: &str, body: Vec<u8>) -> Resp {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut builder = self
            .client
            .request(method, format!("{}{path}", self.base))
            .body(body);
        if let Some(token) = &self.token {
            builder = builder.bearer_auth(token);
        }
        send(builder).unwrap_or_else(|e| panic!("{path}: no answer: {e}"))
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None)
    }

    /// `POST path` with `body` as JSON.
    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.call("POST", path, Some(&body.to_string()))
    }

    /// `POST path` with `body` as JSON; `Err` when no answer came (the server died).
    pub fn try_post(&self, path: &str, body: &Value) -> Result<Resp, reqwest::Error> {
        self.call_auth("POST", path, Some(&body.to_string()), self.token.as_deref())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(mut child) = self.child.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends a request and reads the whole answer.
fn send(builder: reqwest::blocking::RequestBuilder) -> Result<Resp, reqwest::Error> {
    Resp::read_blocking(builder.send()?)
}

/// An HTTP client for the tests: no proxy from the environment, a 30-second timeout (a hang
/// fails the test instead of blocking it).
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(64)
        .build()
        .expect("an HTTP client")
}

/// The `tick-runner` command on `url` with `RUST_LOG=info` and nothing else from the
/// environment.
pub fn tick_runner(url: &str) -> Command {
    let mut command = Command::new(binary("tick-runner"));
    command
        .env_clear()
        .env("RUST_LOG", "info")
        .args(["--database-url", url])
        .stdin(Stdio::null());
    command
}

/// Runs one tick (`tick-runner ARGS…`) and waits for it.
pub fn tick_once(url: &str, args: &[&str]) -> Output {
    tick_runner(url)
        .args(args)
        .output()
        .expect("tick-runner runs")
}

/// The JSON lines a finished tick-runner printed.
pub fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// A tick's `log_ids`.
pub fn log_ids(line: &Value) -> Vec<String> {
    line["log_ids"]
        .as_array()
        .expect("log_ids")
        .iter()
        .map(|id| id.as_str().expect("an id").to_owned())
        .collect()
}

/// Starts `tick-runner --database-url URL ARGS…` (a loop, with `--interval`).
pub fn tick_loop(url: &str, args: &[&str]) -> Process {
    let mut command = tick_runner(url);
    command.args(args);
    Process::spawn(command)
}

/// A log as the audit reads it.
#[derive(Debug, Clone)]
pub struct LogRow {
    /// `log_…`.
    pub id: String,
    /// The status.
    pub status: String,
    /// The account.
    pub account: String,
    /// The platform.
    pub platform: String,
    /// The stored time (UTC).
    pub scheduled_for: Option<NaiveDateTime>,
}

/// An event as the audit reads it.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// `publish_scheduled_…`.
    pub event_type: String,
    /// `publish_log`, …
    pub entity_type: String,
    /// The log's id.
    pub entity_id: String,
    /// The metadata, parsed.
    pub metadata: Value,
}

/// A client following `GET /ledger/feed`: every event it read, in order, and its cursor.
#[derive(Debug)]
pub struct FeedReader {
    next: String,
    /// The events read, as the feed gave them.
    pub events: Vec<Value>,
}

impl Default for FeedReader {
    fn default() -> Self {
        Self {
            next: "0.0".to_owned(),
            events: Vec::new(),
        }
    }
}

impl FeedReader {
    /// Reads one page (up to 100 events) from `server`; how many events it held.
    pub fn poll(&mut self, server: &Server) -> usize {
        let r = server.get(&format!("/ledger/feed?after={}&limit=100", self.next));
        assert_eq!(r.status, 200, "{}", r.text);
        let events = r.body["events"].as_array().expect("events").clone();
        self.next = r.body["next"].as_str().expect("next").to_owned();
        let read = events.len();
        self.events.extend(events);
        read
    }

    /// Polls until `count` events are read in all, or 30 seconds pass (on PostgreSQL the feed
    /// waits for every older transaction of the server to end, other tests' included); then
    /// polls once more, to read anything beyond `count`.
    pub fn read_until(&mut self, server: &Server, count: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self.events.len() < count && std::time::Instant::now() < deadline {
            if self.poll(server) == 0 {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self.poll(server);
    }

    /// Asserts that the feed gave each of `audit`'s events exactly once.
    pub fn assert_read_exactly(&self, audit: &Audit) {
        let ids: HashSet<&str> = self
            .events
            .iter()
            .map(|e| e["id"].as_str().expect("an id"))
            .collect();
        assert_eq!(ids.len(), self.events.len(), "the feed gave an event twice");
        let pairs = |events: Vec<(String, String)>| {
            let mut events = events;
            events.sort();
            events
        };
        let read = pairs(
            self.events
                .iter()
                .map(|e| {
                    (
                        e["entity_id"].as_str().unwrap().to_owned(),
                        e["event_type"].as_str().unwrap().to_owned(),
                    )
                })
                .collect(),
        );
        let stored = pairs(
            audit
                .events
                .iter()
                .map(|e| (e.entity_id.clone(), e.event_type.clone()))
                .collect(),
        );
        assert_eq!(
            read.len(),
            stored.len(),
            "the feed gave {} events of {}",
            read.len(),
            stored.len()
        );
        assert_eq!(read, stored, "the feed's events differ from the ledger's");
    }
}

/// Every log and event of a database, read straight from the tables.
#[derive(Debug)]
pub struct Audit {
    /// By id.
    pub logs: HashMap<String, LogRow>,
    /// Every event.
    pub events: Vec<EventRow>,
}

impl Audit {
    /// Reads both tables from one snapshot: a process killed just after it sent `COMMIT`
    /// has its transaction committed by PostgreSQL while the audit reads, and two reads
    /// outside one snapshot would see its log change without its event, or the reverse.
    pub fn read(conn: &mut Conn) -> Self {
        use scheduler_store::schema::{ledger_events as e, publish_logs as p};
        type Rows = (
            Vec<(String, String, String, String, Option<NaiveDateTime>)>,
            Vec<(String, String, String, String)>,
        );
        let (logs, events): Rows = conn
            .transaction::<_, diesel::result::Error, _>(|conn| {
                if matches!(conn, Conn::Pg(_)) {
                    diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                        .execute(conn)?;
                }
                let logs = p::table
                    .select((
                        p::id,
                        p::status,
                        p::social_account_id,
                        p::platform,
                        p::scheduled_for,
                    ))
                    .load(conn)?;
                let events = e::table
                    .select((e::event_type, e::entity_type, e::entity_id, e::metadata))
                    .load(conn)?;
                Ok((logs, events))
            })
            .expect("read publish_logs and ledger_events");
        Self {
            logs: logs
                .into_iter()
                .map(|(id, status, account, platform, scheduled_for)| {
                    (
                        id.clone(),
                        LogRow {
                            id,
                            status,
                            account,
                            platform,
                            scheduled_for,
                        },
                    )
                })
                .collect(),
            events: events
                .into_iter()
                .map(|(event_type, entity_type, entity_id, metadata)| EventRow {
                    event_type,
                    entity_type,
                    entity_id,
                    metadata: serde_json::from_str(&metadata).unwrap_or(Value::Null),
                })
                .collect(),
        }
    }

    /// How many events of `kind` (`created`, `adjusted`, `enqueued`, `cancelled`,
    /// `rescheduled`) each log has.
    pub fn count(&self, kind: &str) -> HashMap<&str, usize> {
        let event_type = format!("publish_scheduled_{kind}");
        let mut counts = HashMap::new();
        for event in &self.events {
            if event.event_type == event_type {
                *counts.entry(event.entity_id.as_str()).or_default() += 1;
            }
        }
        counts
    }

    /// The logs with `status`.
    pub fn with_status(&self, status: &str) -> Vec<&LogRow> {
        self.logs.values().filter(|l| l.status == status).collect()
    }

    /// Guarantee 3 on what is stored: every log has exactly one created event; every pending
    /// log exactly one enqueued event and every scheduled log none; every cancelled log
    /// exactly one cancelled event; every event is about a log that exists.
    #[track_caller]
    pub fn assert_consistent(&self) {
        let created = self.count("created");
        let enqueued = self.count("enqueued");
        let cancelled = self.count("cancelled");
        for log in self.logs.values() {
            let id = log.id.as_str();
            assert_eq!(created.get(id), Some(&1), "created events of {id}");
            match log.status.as_str() {
                "pending" => assert_eq!(enqueued.get(id), Some(&1), "enqueued events of {id}"),
                "scheduled" => assert_eq!(enqueued.get(id), None, "enqueued events of {id}"),
                "cancelled" => {
                    assert_eq!(cancelled.get(id), Some(&1), "cancelled events of {id}");
                    assert_eq!(enqueued.get(id), None, "enqueued events of {id}");
                }
                other => panic!("unexpected status {other} of {id}"),
            }
        }
        let orphans: HashSet<&str> = self
            .events
            .iter()
            .filter(|e| e.entity_type == "publish_log" && !self.logs.contains_key(&e.entity_id))
            .map(|e| e.entity_id.as_str())
            .collect();
        assert!(orphans.is_empty(), "events without a log: {orphans:?}");
    }
}

/// SQLite's `PRAGMA integrity_check` result (`ok` when the file is sound).
pub fn sqlite_integrity(conn: &mut Conn) -> String {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let rows: Vec<Row> = diesel::sql_query("PRAGMA integrity_check")
        .load(conn)
        .expect("PRAGMA integrity_check");
    rows.into_iter()
        .map(|r| r.integrity_check)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Fragments that must never reach a client: SQL, the ORM's name, file paths, panics.
pub const LEAKS: &[&str] = &[
    "SELECT ",
    "INSERT ",
    "UPDATE publish",
    "diesel",
    "Diesel",
    "/work",
    "/tmp",
    "/home",
    "/root",
    ".rs:",
    ".rs\"",
    "panicked",
    "backtrace",
    "RUST_BACKTRACE",
];

/// Asserts that an answer's body leaks none of [`LEAKS`].
#[track_caller]
pub fn assert_no_leak(what: &str, resp: &Resp) {
    for leak in LEAKS {
        assert!(
            !resp.text.contains(leak),
            "{what}: the body leaks {leak:?}: {}",
            resp.text
        );
    }
}

/// A free port on 127.0.0.1 (bound and released): a server restarted on it is found again by
/// the clients that knew it.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

/// Polls `check` every 100 ms until it is true or `timeout` passes; returns whether it became
/// true.
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if check() {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts `publish-worker --api-url API --publisher-url PUBLISHER ARGS…` (stdout and stderr
/// collected; killed on drop).
pub fn publish_worker(api: &str, publisher: &str, args: &[&str]) -> Process {
    let mut command = Command::new(binary("publish-worker"));
    command
        .env_clear()
        .env("RUST_LOG", "info")
        .args(["--api-url", api, "--publisher-url", publisher])
        .args(args)
        .stdin(Stdio::null());
    Process::spawn(command)
}
