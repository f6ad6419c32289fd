//! URLs, opening databases, migrations and session settings.

use std::sync::{Arc, Barrier};
use std::thread;

use diesel::prelude::*;
use diesel::sql_types::Text;
use scheduler_store::{
    connect, pending_migrations, require_migrated, run_migrations, Conn, DatabaseUrl, Db,
    OpenOptions, StoreError,
};

use crate::support::{both_backends, options, pg_database, sqlite_url};

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
    assert!(parse("postgres://u@h/db")
        .to_string()
        .starts_with("postgres://"));
    assert!(matches!(
        parse("postgresql://u@h/db"),
        DatabaseUrl::Postgres(_)
    ));
    assert_eq!(
        parse("postgres://me:secret@db.example:5432/sched").to_string(),
        "postgres://me:***@db.example:5432/sched"
    );
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
    let (url, dir) = sqlite_url();
    match Db::open(&url, &OpenOptions::default()) {
        Err(StoreError::DatabaseFileNotFound(path)) => assert!(path.ends_with("test.db")),
        other => panic!("expected file not found, got {other:?}"),
    }
    assert!(!dir.path().join("test.db").exists());
    Db::open(&url, &options()).unwrap();
    assert!(dir.path().join("test.db").exists());
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
    let db = Db::open(url, &options()).unwrap();
    let barrier = Arc::new(Barrier::new(4));
    let applied: Vec<Vec<String>> = (0..4)
        .map(|_| {
            let (db, barrier) = (db.clone(), barrier.clone());
            thread::spawn(move || {
                let mut conn = db.conn().unwrap();
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
    let (url, _dir) = sqlite_url();
    migrate_concurrently(&url);
}

#[test]
fn postgres_migrates_once_under_concurrency() {
    if let Some(database) = pg_database() {
        migrate_concurrently(&DatabaseUrl::parse(database.url()).unwrap());
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
        if db.postgres {
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
        let reopened = Db::open(db.db.url(), &short).unwrap();
        let first = reopened.writer().unwrap();
        let second = reopened.writer();
        if db.postgres {
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
/// api-servers are): every one opens it, switches it to WAL and finds it migrated, none reports
/// "database is locked".
#[test]
fn sqlite_opens_and_migrates_from_many_pools_at_once() {
    for _ in 0..20 {
        let (url, _dir) = sqlite_url();
        let options = OpenOptions {
            create_if_missing: true,
            ..options()
        };
        let barrier = Arc::new(Barrier::new(6));
        let applied: Vec<Vec<String>> = (0..6)
            .map(|_| {
                let (url, options, barrier) = (url.clone(), options.clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    let db = Db::open(&url, &options).unwrap();
                    run_migrations(&mut db.writer().unwrap()).unwrap()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        assert_applied_once(&applied);
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
