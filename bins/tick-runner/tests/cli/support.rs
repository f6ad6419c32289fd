//! A fresh database per test (a temporary SQLite file, or a new PostgreSQL database when
//! `TEST_DATABASE_URL` is set), due logs inserted in bulk, and the real binary.

use std::path::PathBuf;
use std::process::{Command, Output};

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use scheduler_store::{Conn, EventType};
use scheduler_testkit::{insert_account_and_clip, Logs, Process};
pub use scheduler_testkit::{insert_due_logs, TestDb};
use serde_json::Value;

/// The binary under test.
pub fn tick_runner() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tick-runner"));
    command.env_remove("DATABASE_URL").env("RUST_LOG", "info");
    command
}

/// Runs the binary on `db` with `args` and waits for it.
pub fn run(db: &TestDb, args: &[&str]) -> Output {
    tick_runner()
        .arg("--database-url")
        .arg(&db.url)
        .args(args)
        .output()
        .unwrap()
}

/// The JSON lines a run printed.
pub fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The log ids of one JSON line.
pub fn ids(line: &Value) -> Vec<String> {
    line["log_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect()
}

/// A migrated SQLite database in a temporary directory.
pub fn sqlite() -> TestDb {
    migrated(TestDb::sqlite())
}

/// A migrated PostgreSQL database, or `None` without `TEST_DATABASE_URL`.
pub fn postgres() -> Option<TestDb> {
    TestDb::postgres().map(migrated)
}

/// `db`, created and migrated as api-server would (tick-runner never creates a database).
fn migrated(db: TestDb) -> TestDb {
    db.migrate();
    db
}

pub(crate) use scheduler_testkit::both_backends;

/// `count` logs due from `first`, `step` apart, on a new account and clip, without events;
/// their ids in due order.
pub fn insert_logs(
    conn: &mut Conn,
    count: usize,
    first: DateTime<Utc>,
    step: TimeDelta,
) -> Vec<String> {
    let (account, clip) = insert_account_and_clip(conn);
    scheduler_testkit::insert_logs(
        conn,
        &Logs {
            account: &account,
            clip: &clip,
            count,
            first_due: first,
            step,
            created_at: "2020-01-01T00:00:00Z".parse().unwrap(),
            with_events: false,
            random_ids: false,
        },
    )
}

/// How many logs have `status`.
pub fn count_status(conn: &mut Conn, status: &str) -> i64 {
    use scheduler_store::schema::publish_logs::dsl as p;
    p::publish_logs
        .filter(p::status.eq(status))
        .count()
        .get_result(conn)
        .unwrap()
}

/// The `entity_id`s of the enqueued events, one per event.
pub fn enqueued_log_ids(conn: &mut Conn) -> Vec<String> {
    use scheduler_store::schema::ledger_events::dsl as e;
    e::ledger_events
        .filter(e::event_type.eq(EventType::Enqueued.as_str()))
        .select(e::entity_id)
        .load(conn)
        .unwrap()
}

/// Starts `tick-runner --database-url URL ARGS…` on `db` (a loop, with `--interval`).
pub fn spawn_loop(db: &TestDb, args: &[&str]) -> Process {
    let mut command = tick_runner();
    command.arg("--database-url").arg(&db.url).args(args);
    Process::spawn(command)
}

/// A path in a new temporary directory, not created.
pub fn missing_file() -> (PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (dir.path().join("missing.db"), dir)
}
