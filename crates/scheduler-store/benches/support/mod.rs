//! Benchmark databases: a temporary SQLite file, and, when `TEST_DATABASE_URL` names a
//! PostgreSQL server, a new database on it, dropped with its value. Shared by the `schedule`
//! bench and the `tick_bench` example.

use scheduler_testkit::TestDb;

/// The backends to measure: SQLite always, PostgreSQL with `TEST_DATABASE_URL`; each opened
/// and migrated.
pub fn databases() -> Vec<TestDb> {
    let mut all = vec![TestDb::sqlite()];
    all.extend(TestDb::postgres());
    for db in &all {
        db.db();
    }
    all
}
