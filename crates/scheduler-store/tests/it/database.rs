//! URLs, opening databases, migrations and session settings.

use std::sync::{Arc, Barrier};
use std::thread;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use scheduler_store::{
    connect, pending_migrations, require_migrated, run_migrations, Conn, DatabaseUrl, Db, Mode,
    OpenOptions, StoreError,
};

use scheduler_testkit::TestDb;

use crate::support::both_backends;

/// Opening options that create and migrate, with room for the threads of these tests.
fn options() -> OpenOptions {
    OpenOptions {
        mode: Mode::Migrate,
        max_connections: 10,
        ..OpenOptions::default()
    }
}

#[test]
fn parses_database_urls() {
    let parse = |s: &str| DatabaseUrl::parse(s).unwrap();
    assert_eq!(
        parse("scheduler.db"),
        DatabaseUrl::Sqlite("scheduler.db".into())
    );
    assert_eq!(
        parse("sqlite:///tmp/x.db"),
        DatabaseUrl::Sqlite("/tmp/x.db".into())
    );
    assert_eq!(
        parse("sqlite://data/x.db"),
        DatabaseUrl::Sqlite("data/x.db".into())
    );
    assert_eq!(
        parse("postgres://u@h/db"),
        DatabaseUrl::Postgres("postgres://u@h/db".into())
    );
    assert!(matches!(
        parse("postgresql://u@h/db"),
        DatabaseUrl::Postgres(_)
    ));
    assert_eq!(
        parse("postgres://me:secret@db.example:5432/sched").to_string(),
        "postgres://me:***@db.example:5432/sched"
    );
    assert_eq!(
        parse("postgres://me:secret@db.example:5432/sched").describe(),
        "PostgreSQL database postgres://me:***@db.example:5432/sched"
    );
    assert_eq!(parse("data/x.db").describe(), "SQLite database data/x.db");
    for bad in ["", "sqlite://", "mysql://u:secret@h/db", "http://x"] {
        match DatabaseUrl::parse(bad) {
            Err(StoreError::InvalidUrl(message)) => {
                assert!(!message.contains("secret"), "{message}")
            }
            other => panic!("{bad:?}: expected an invalid URL, got {other:?}"),
        }
    }
}

#[test]
fn refuses_a_missing_sqlite_file_unless_asked_to_create_it() {
    let test = TestDb::sqlite();
    let url = test.database_url();
    match Db::open(&url, &OpenOptions::default()) {
        Err(StoreError::DatabaseFileNotFound(path)) => assert!(path.ends_with("test.db")),
        other => panic!("expected file not found, got {other:?}"),
    }
    assert!(!std::path::Path::new(&test.url).exists());
    Db::open(&url, &options()).unwrap();
    assert!(std::path::Path::new(&test.url).exists());
    // Once it exists, opening without creation works.
    Db::open(&url, &OpenOptions::default()).unwrap();
}

#[test]
fn connection_errors_keep_their_cause() {
    let unreachable = DatabaseUrl::parse("postgres://postgres@127.0.0.1:1/test").unwrap();
    match connect(&unreachable, false) {
        Err(error @ StoreError::Connect { .. }) => {
            let message = error.to_string();
            assert!(message.contains("refused"), "{message}");
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("no/such/dir/x.db");
    let url = DatabaseUrl::parse(nowhere.to_str().unwrap()).unwrap();
    match connect(&url, true) {
        Err(error @ StoreError::Connect { .. }) => {
            let message = error.to_string();
            assert!(
                message.contains("Unable to open the database file"),
                "{message}"
            );
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
}

/// Exactly one of several concurrent migration runs applied the migrations.
fn assert_applied_once(applied: &[Vec<String>]) {
    assert_eq!(
        applied.iter().filter(|a| !a.is_empty()).count(),
        1,
        "{applied:?}"
    );
}

/// Migrates an empty database from several threads at once, checking the schema check first.
fn migrate_concurrently(url: &DatabaseUrl) {
    let mut conn = connect(url, true).unwrap();
    assert!(!pending_migrations(&mut conn).unwrap().is_empty());
    assert!(matches!(
        require_migrated(&mut conn),
        Err(StoreError::Migration(_))
    ));
    let barrier = Arc::new(Barrier::new(4));
    let applied: Vec<Vec<String>> = (0..4)
        .map(|_| {
            let (url, barrier) = (url.clone(), barrier.clone());
            thread::spawn(move || {
                let mut conn = connect(&url, true).unwrap();
                barrier.wait();
                run_migrations(&mut conn).unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert_applied_once(&applied);
    require_migrated(&mut conn).unwrap();
    assert!(run_migrations(&mut conn).unwrap().is_empty());
}

#[test]
fn sqlite_migrates_once_under_concurrency() {
    migrate_concurrently(&TestDb::sqlite().database_url());
}

#[test]
fn postgres_migrates_once_under_concurrency() {
    if let Some(database) = TestDb::postgres() {
        migrate_concurrently(&database.database_url());
    }
}

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    value: String,
}

fn setting(conn: &mut Conn, sql: &str) -> String {
    diesel::sql_query(sql)
        .get_result::<Setting>(conn)
        .unwrap()
        .value
}

both_backends! {
    fn sessions_are_configured(db) {
        let conn = &mut db.conn();
        if db.is_postgres() {
            assert_eq!(setting(conn, "SELECT current_setting('TimeZone') AS value"), "UTC");
        } else {
            assert_eq!(setting(conn, "SELECT CAST(journal_mode AS TEXT) AS value FROM pragma_journal_mode"), "wal");
            assert_eq!(setting(conn, "SELECT CAST(foreign_keys AS TEXT) AS value FROM pragma_foreign_keys"), "1");
            assert_eq!(setting(conn, "SELECT CAST(timeout AS TEXT) AS value FROM pragma_busy_timeout"), "10000");
            assert_eq!(setting(conn, "SELECT CAST(synchronous AS TEXT) AS value FROM pragma_synchronous"), "1");
            // The savepoint journal in memory.
            assert_eq!(setting(conn, "SELECT CAST(temp_store AS TEXT) AS value FROM pragma_temp_store"), "2");
        }
    }
}

both_backends! {
    fn sqlite_writers_take_turns_on_one_connection(db) {
        // Reopen with a short checkout timeout, so a writer that must wait fails fast.
        let short = OpenOptions {
            connection_timeout: std::time::Duration::from_millis(200),
            ..options()
        };
        let reopened = db.open(&short);
        let first = reopened.writer().unwrap();
        let second = reopened.writer();
        if db.is_postgres() {
            assert!(second.is_ok(), "PostgreSQL writers use the whole pool");
        } else {
            assert!(
                matches!(second, Err(StoreError::Pool(_))),
                "a second SQLite writer waits for the first"
            );
        }
        // Readers never wait for the writer.
        let mut reader = reopened.conn().unwrap();
        scheduler_store::ping(&mut reader).unwrap();
        drop(first);
        drop(second);
        reopened.writer().unwrap();
    }
}

/// Several processes starting at once on a missing SQLite file (each its own `Db`, as separate
/// api-servers are): every one opens it, switches it to WAL and migrates it, none reports
/// "database is locked".
#[test]
fn sqlite_opens_and_migrates_from_many_pools_at_once() {
    for _ in 0..20 {
        let test = TestDb::sqlite();
        let url = test.database_url();
        let barrier = Arc::new(Barrier::new(6));
        let opened: Vec<Db> = (0..6)
            .map(|_| {
                let (url, barrier) = (url.clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    Db::open(&url, &options()).unwrap()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        assert_eq!(opened.len(), 6);
        let mut conn = connect(&url, false).unwrap();
        require_migrated(&mut conn).unwrap();
        assert_eq!(
            setting(
                &mut conn,
                "SELECT CAST(journal_mode AS TEXT) AS value FROM pragma_journal_mode"
            ),
            "wal"
        );
    }
}

/// An empty database of each backend this run covers, with its URL: nothing created in it.
fn empty_databases() -> Vec<(DatabaseUrl, TestDb)> {
    let mut all = vec![TestDb::sqlite()];
    all.extend(TestDb::postgres());
    all.into_iter().map(|db| (db.database_url(), db)).collect()
}

/// Whether diesel's table of applied migrations exists.
fn has_migrations_table(url: &DatabaseUrl) -> bool {
    let mut conn = connect(url, false).unwrap();
    let sql = match url {
        DatabaseUrl::Sqlite(_) => {
            "SELECT CAST(count(*) AS TEXT) AS value FROM sqlite_master \
             WHERE name = '__diesel_schema_migrations'"
        }
        DatabaseUrl::Postgres(_) => {
            "SELECT CAST(count(*) AS TEXT) AS value FROM information_schema.tables \
             WHERE table_name = '__diesel_schema_migrations'"
        }
    };
    setting(&mut conn, sql) != "0"
}

/// How many migrations the backend of `url` has: its folders under `migrations/`.
fn migration_count(url: &DatabaseUrl) -> usize {
    let backend = match url {
        DatabaseUrl::Sqlite(_) => "sqlite",
        DatabaseUrl::Postgres(_) => "postgres",
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(backend);
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count()
}

#[test]
fn checking_the_schema_writes_nothing() {
    for (url, _keep) in empty_databases() {
        if let DatabaseUrl::Sqlite(path) = &url {
            std::fs::write(path, b"").unwrap();
        }
        for mode in [Mode::ReadOnly, Mode::ReadWrite] {
            let options = OpenOptions { mode, ..options() };
            match Db::open(&url, &options) {
                Err(StoreError::Migration(message)) => {
                    assert!(message.contains("missing or out of date"), "{message}")
                }
                other => panic!("{url} {mode:?}: expected a missing schema, got {other:?}"),
            }
            assert!(
                !has_migrations_table(&url),
                "{url} {mode:?} created a table"
            );
            if let DatabaseUrl::Sqlite(path) = &url {
                assert_eq!(std::fs::metadata(path).unwrap().len(), 0, "{mode:?} wrote");
            }
        }
        let mut conn = connect(&url, false).unwrap();
        assert_eq!(
            pending_migrations(&mut conn).unwrap().len(),
            migration_count(&url)
        );
        assert!(!has_migrations_table(&url));
    }
}

#[test]
fn a_read_only_database_is_refused_for_writing_and_read_for_a_dry_run() {
    for (url, _keep) in empty_databases() {
        Db::open(&url, &options()).unwrap();
        // What a file the process may only read, or a PostgreSQL standby, looks like.
        let read_only_url = match &url {
            DatabaseUrl::Sqlite(path) => DatabaseUrl::Sqlite(format!("file:{path}?mode=ro")),
            DatabaseUrl::Postgres(u) => {
                let name = u.rsplit('/').next().unwrap().split('?').next().unwrap();
                diesel::sql_query(format!(
                    "ALTER DATABASE {name} SET default_transaction_read_only = on"
                ))
                .execute(&mut connect(&url, false).unwrap())
                .unwrap();
                url.clone()
            }
        };
        for mode in [Mode::Migrate, Mode::ReadWrite] {
            let options = OpenOptions { mode, ..options() };
            match Db::open(&read_only_url, &options) {
                Err(error @ StoreError::ReadOnly(_)) => {
                    assert!(error.to_string().contains("cannot be written"), "{error}")
                }
                Err(StoreError::DatabaseFileNotFound(_)) if mode == Mode::ReadWrite => {
                    // `file:` URIs name no path to check for; Migrate covers SQLite.
                }
                other => panic!("{url} {mode:?}: expected a refusal, got {other:?}"),
            }
        }
        // A dry run reads it all the same, on a plain URL too, and never writes.
        let reader = Db::open(
            &url,
            &OpenOptions {
                mode: Mode::ReadOnly,
                ..options()
            },
        )
        .unwrap();
        let mut conn = reader.writer().unwrap();
        scheduler_store::ping(&mut conn).unwrap();
        let write = diesel::sql_query("DELETE FROM clips").execute(&mut **conn);
        assert!(write.is_err(), "{url}: a read-only session wrote");
    }
}

both_backends! {
    // A database that stops taking writes after it was opened (a PostgreSQL server that became
    // a standby, a SQLite file made read-only) is unavailable, not a bug: 503, not 500.
    fn a_database_that_stops_taking_writes_is_read_only(db) {
        let conn = &mut db.conn();
        let (on, off) = if db.is_postgres() {
            ("SET default_transaction_read_only = on", "SET default_transaction_read_only = off")
        } else {
            ("PRAGMA query_only = ON", "PRAGMA query_only = OFF")
        };
        conn.batch_execute(on).unwrap();
        let refused = scheduler_store::create_clip(conn, &Default::default(), chrono::Utc::now());
        conn.batch_execute(off).unwrap();
        assert!(matches!(refused, Err(StoreError::ReadOnly(_))), "{refused:?}");
    }
}

/// A write put in `Db::read` by mistake fails at once on SQLite, instead of writing beside the
/// one writer (and its group commit).
#[tokio::test]
async fn sqlite_reads_refuse_writes() {
    let test = TestDb::sqlite();
    let wrote = test
        .db()
        .read(|conn| scheduler_store::create_clip(conn, &Default::default(), chrono::Utc::now()))
        .await;
    assert!(matches!(wrote, Err(StoreError::ReadOnly(_))), "{wrote:?}");
    assert_eq!(test.counts().clips, 0);
}

/// The backend process of a pooled PostgreSQL connection.
fn backend_pid(conn: &mut Conn) -> i32 {
    #[derive(QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(conn)
        .unwrap()
        .pid
}

/// A checkout does not ask the database whether the connection works: after PostgreSQL ends
/// the pool's connections, the request that meets the first dead one fails as a lost
/// connection, that connection is dropped, and every other is asked once before it is lent, so
/// the next request succeeds.
#[test]
fn postgres_drops_a_lost_connection_and_checks_the_others() {
    let Some(database) = TestDb::postgres() else {
        return;
    };
    let db = Db::open(
        &database.database_url(),
        &OpenOptions {
            max_connections: 2,
            ..options()
        },
    )
    .unwrap();
    let (mut first, mut second) = (db.conn().unwrap(), db.conn().unwrap());
    let pids = [backend_pid(&mut first), backend_pid(&mut second)];
    assert_ne!(pids[0], pids[1]);
    drop((first, second));
    let mut admin = connect(&database.database_url(), false).unwrap();
    for pid in pids {
        diesel::sql_query(format!("SELECT pg_terminate_backend({pid})"))
            .execute(&mut admin)
            .unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(200));

    let mut conn = db.conn().unwrap();
    let lost = scheduler_store::ping(&mut conn);
    assert!(
        matches!(lost, Err(StoreError::ConnectionLost(_))),
        "{lost:?}"
    );
    drop(conn);
    let mut conn = db.conn().unwrap();
    scheduler_store::ping(&mut conn).unwrap();
    assert!(!pids.contains(&backend_pid(&mut conn)));
}
