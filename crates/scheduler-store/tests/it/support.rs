//! A fresh database per test: a temporary SQLite file, and, when `TEST_DATABASE_URL` names a
//! PostgreSQL server, a new `sched_test_<uuid>` database on it, dropped at the end.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use scheduler_core::RuleSet;
use scheduler_store::{
    create_account, create_clip, Account, Clip, Conn, DatabaseUrl, Db, Mode, NewAccount, NewClip,
    NewSchedule, OpenOptions, PooledConn, ScheduledBy,
};
use scheduler_testkit::PgDatabase;

/// A test database; dropping it removes the file or the PostgreSQL database.
pub struct TestDb {
    pub db: Db,
    /// Whether this is the PostgreSQL run.
    pub postgres: bool,
    _dir: Option<tempfile::TempDir>,
    _database: Option<PgDatabase>,
}

impl TestDb {
    pub fn conn(&self) -> PooledConn {
        self.db.conn().unwrap()
    }
}

/// Options for test pools: room for the concurrency tests' threads.
pub fn options() -> OpenOptions {
    OpenOptions {
        mode: Mode::Migrate,
        max_connections: 10,
        ..OpenOptions::default()
    }
}

/// A migrated SQLite database in a temporary directory.
pub fn sqlite() -> TestDb {
    sqlite_with(options())
}

/// A migrated SQLite database opened with `options`, in a temporary directory.
pub fn sqlite_with(options: OpenOptions) -> TestDb {
    let (url, dir) = sqlite_url();
    TestDb {
        db: open_with(&url, &options),
        postgres: false,
        _dir: Some(dir),
        _database: None,
    }
}

/// A migrated SQLite database whose WAL starts over past `pages` pages, and the path of its
/// file (for [`wal_pages`]).
pub fn sqlite_with_wal_restart(pages: u32) -> (TestDb, String) {
    let db = sqlite_with(OpenOptions {
        wal_restart_pages: pages,
        ..options()
    });
    let DatabaseUrl::Sqlite(path) = db.db.url().clone() else {
        unreachable!("sqlite_with opens SQLite")
    };
    (db, path)
}

/// The size of the WAL file beside the SQLite database at `path`, in 4 KiB pages.
pub fn wal_pages(path: &str) -> u64 {
    std::fs::metadata(format!("{path}-wal")).unwrap().len() / 4_096
}

/// The URL of a SQLite file (not created) in a new temporary directory.
pub fn sqlite_url() -> (DatabaseUrl, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    (DatabaseUrl::parse(path.to_str().unwrap()).unwrap(), dir)
}

/// A migrated PostgreSQL database, or `None` without `TEST_DATABASE_URL`.
pub fn postgres() -> Option<TestDb> {
    let database = pg_database()?;
    let url = DatabaseUrl::parse(database.url()).unwrap();
    Some(TestDb {
        db: open(&url),
        postgres: true,
        _dir: None,
        _database: Some(database),
    })
}

/// An empty PostgreSQL database `sched_test_<uuid>` (no migrations), dropped with its value;
/// `None` without `TEST_DATABASE_URL`.
pub fn pg_database() -> Option<PgDatabase> {
    PgDatabase::create("sched_test")
}

fn open(url: &DatabaseUrl) -> Db {
    open_with(url, &options())
}

fn open_with(url: &DatabaseUrl, options: &OpenOptions) -> Db {
    Db::open(url, options).unwrap()
}

pub(crate) use scheduler_testkit::both_backends;

/// An instant from RFC 3339 text.
pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// A fixed "now" for scheduling tests: the day before [`at`]'s usual dates.
pub fn now() -> DateTime<Utc> {
    at("2030-01-14T10:00:00Z")
}

/// An Instagram account in `zone` and a clip.
pub fn account_and_clip(conn: &mut Conn, zone: &str) -> (Account, Clip) {
    let account = create_account(
        conn,
        &RuleSet::default(),
        &NewAccount {
            platform: "instagram".into(),
            timezone: Some(zone.into()),
            ..NewAccount::default()
        },
        now(),
    )
    .unwrap();
    let clip = create_clip(conn, &NewClip::default(), now()).unwrap();
    (account, clip)
}

/// A request for `clip` on `account` at `time`.
pub fn request(account: &Account, clip: &Clip, time: Option<&str>) -> NewSchedule {
    NewSchedule {
        clip_id: clip.id.clone(),
        platform: account.platform.to_string(),
        social_account_id: account.id.clone(),
        scheduled_for: time.map(at),
        scheduled_window_end: None,
        scheduled_by: ScheduledBy::Manual,
    }
}

/// Row counts of (publish_logs, ledger_events).
pub fn counts(conn: &mut Conn) -> (i64, i64) {
    use scheduler_store::schema::{ledger_events, publish_logs};
    (
        publish_logs::table.count().get_result(conn).unwrap(),
        ledger_events::table.count().get_result(conn).unwrap(),
    )
}
