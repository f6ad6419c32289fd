//! A fresh database per test (a temporary SQLite file, or a new PostgreSQL database when
//! `TEST_DATABASE_URL` is set), due logs inserted in bulk, and the real binary.

use std::path::PathBuf;
use std::process::{Command, Output};

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use scheduler_core::RuleSet;
use scheduler_store::{
    create_account, create_clip, Conn, DatabaseUrl, Db, Mode, NewAccount, NewClip, OpenOptions,
    PooledConn,
};
use scheduler_testkit::{PgDatabase, Process};
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

/// A test database; dropping it removes the file or the PostgreSQL database.
pub struct TestDb {
    pub db: Db,
    /// What the binary is given as `--database-url`.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    _database: Option<PgDatabase>,
}

impl TestDb {
    pub fn conn(&self) -> PooledConn {
        self.db.conn().unwrap()
    }
}

/// A migrated SQLite database in a temporary directory.
pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("test.db").to_str().unwrap().to_owned();
    TestDb {
        db: open(&url),
        url,
        _dir: Some(dir),
        _database: None,
    }
}

/// A migrated PostgreSQL database, or `None` without `TEST_DATABASE_URL`.
pub fn postgres() -> Option<TestDb> {
    let database = PgDatabase::create("tick_test")?;
    Some(TestDb {
        db: open(database.url()),
        url: database.url().to_owned(),
        _dir: None,
        _database: Some(database),
    })
}

pub fn open(url: &str) -> Db {
    let options = OpenOptions {
        mode: Mode::Migrate,
        max_connections: 2,
        ..OpenOptions::default()
    };
    Db::open(&DatabaseUrl::parse(url).unwrap(), &options).unwrap()
}

pub(crate) use scheduler_testkit::both_backends;

/// Inserts `count` scheduled logs directly (the store's `schedule` refuses past times and
/// plans one by one), on one new account and clip; log `i` is due at `first + i * step`.
/// Returns the ids in due order.
pub fn insert_logs(
    conn: &mut Conn,
    count: usize,
    first: DateTime<Utc>,
    step: TimeDelta,
) -> Vec<String> {
    let created = DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let account = create_account(
        conn,
        &RuleSet::default(),
        &NewAccount {
            platform: "instagram".into(),
            ..NewAccount::default()
        },
        created,
    )
    .unwrap();
    let clip = create_clip(conn, &NewClip::default(), created).unwrap();
    let ids: Vec<String> = (0..count)
        .map(|i| format!("log_t{i:06}_{}", uuid::Uuid::new_v4().simple()))
        .collect();
    let stamp = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
    for (chunk_index, chunk) in ids.chunks(500).enumerate() {
        let values: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(j, id)| {
                let i = chunk_index * 500 + j;
                let due = stamp(first + step * i32::try_from(i).unwrap());
                format!(
                    "('{id}', '{clip}', 'instagram', '{account}', 'scheduled', 'scheduled', \
                     '{due}', NULL, 'manual', '{due}', NULL, '{c}', '{c}')",
                    clip = clip.id,
                    account = account.id,
                    c = stamp(created),
                )
            })
            .collect();
        diesel::sql_query(format!(
            "INSERT INTO publish_logs (id, clip_id, platform, social_account_id, status, \
             schedule_type, scheduled_for, scheduled_window_end, scheduled_by, requested_for, \
             reason, created_at, updated_at) VALUES {}",
            values.join(", ")
        ))
        .execute(conn)
        .unwrap();
    }
    ids
}

/// `count` logs due in the past (a year ago, a second apart).
pub fn insert_due_logs(conn: &mut Conn, count: usize) -> Vec<String> {
    insert_logs(
        conn,
        count,
        Utc::now() - TimeDelta::days(365),
        TimeDelta::seconds(1),
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
    use scheduler_store::ledger::event_type;
    use scheduler_store::schema::ledger_events::dsl as e;
    e::ledger_events
        .filter(e::event_type.eq(event_type::ENQUEUED))
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
