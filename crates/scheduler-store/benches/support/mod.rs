//! Benchmark databases: a temporary SQLite file, and, when `TEST_DATABASE_URL` names a
//! PostgreSQL server, a new `sched_bench_<uuid>` database on it, dropped with its value.
//! Shared by the `schedule` bench and the `tick_bench` example.

#![allow(dead_code)]

use scheduler_store::{DatabaseUrl, Db, Mode, OpenOptions, PooledConn};
use scheduler_testkit::PgDatabase;

/// A migrated benchmark database; dropping it removes the file or the PostgreSQL database.
pub struct BenchDb {
    pub db: Db,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    _dir: Option<tempfile::TempDir>,
    _database: Option<PgDatabase>,
}

impl BenchDb {
    pub fn conn(&self) -> PooledConn {
        self.db.conn().unwrap()
    }
}

/// The backends to measure: SQLite always, PostgreSQL with `TEST_DATABASE_URL`.
pub fn databases() -> Vec<BenchDb> {
    let mut all = vec![sqlite()];
    all.extend(postgres());
    all
}

/// A migrated SQLite database in a temporary directory.
pub fn sqlite() -> BenchDb {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let url = DatabaseUrl::parse(path.to_str().unwrap()).unwrap();
    BenchDb {
        db: open(&url),
        backend: "sqlite",
        _dir: Some(dir),
        _database: None,
    }
}

/// A migrated PostgreSQL database, or `None` without `TEST_DATABASE_URL`.
pub fn postgres() -> Option<BenchDb> {
    let database = PgDatabase::create("sched_bench")?;
    let url = DatabaseUrl::parse(database.url()).unwrap();
    Some(BenchDb {
        db: open(&url),
        backend: "postgres",
        _dir: None,
        _database: Some(database),
    })
}

fn open(url: &DatabaseUrl) -> Db {
    let options = OpenOptions {
        mode: Mode::Migrate,
        max_connections: 2,
        ..OpenOptions::default()
    };
    Db::open(url, &options).unwrap()
}
