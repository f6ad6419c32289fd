//! One tick and exit: the output line, the moved logs, a dry run, nothing due.

use serde_json::json;

use crate::support::{
    both_backends, count_status, enqueued_log_ids, ids, insert_due_logs, insert_logs, json_lines,
    run,
};

both_backends! {
    fn once_moves_the_due_logs_and_prints_one_line(db) {
        let conn = &mut db.conn();
        let due = insert_due_logs(conn, 7);
        let future = insert_logs(conn, 2, chrono::Utc::now() + chrono::TimeDelta::days(1), chrono::TimeDelta::seconds(1));

        let output = run(db, &["--batch-size", "3"]);
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        let lines = json_lines(&output);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0], json!({"moved": 7, "dry_run": false, "log_ids": due, "leases_expired": 0, "expired_log_ids": [], "occurrences_made": 0}));
        // Keys in the endpoint's order.
        let text = String::from_utf8(output.stdout.clone()).unwrap();
        assert!(text.starts_with("{\"moved\":7,\"dry_run\":false,\"log_ids\":[\""), "{text}");

        assert_eq!(count_status(conn, "pending"), 7);
        assert_eq!(count_status(conn, "scheduled"), i64::try_from(future.len()).unwrap());
        let mut enqueued = enqueued_log_ids(conn);
        enqueued.sort();
        let mut expected = due.clone();
        expected.sort();
        assert_eq!(enqueued, expected);
        assert!(String::from_utf8_lossy(&output.stderr).contains("7 logs moved to pending"));

        let again = run(db, &[]);
        assert_eq!(again.status.code(), Some(0));
        assert_eq!(json_lines(&again), [json!({"moved": 0, "dry_run": false, "log_ids": [], "leases_expired": 0, "expired_log_ids": [], "occurrences_made": 0})]);
    }

    fn dry_run_lists_and_changes_nothing(db) {
        let conn = &mut db.conn();
        let due = insert_due_logs(conn, 4);

        let output = run(db, &["--dry-run"]);
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        let lines = json_lines(&output);
        assert_eq!(lines, [json!({"moved": 4, "dry_run": true, "log_ids": due, "leases_expired": 0, "expired_log_ids": [], "occurrences_made": 0})]);
        assert_eq!(ids(&lines[0]), due);
        assert_eq!(count_status(conn, "scheduled"), 4);
        assert_eq!(count_status(conn, "pending"), 0);
        assert!(enqueued_log_ids(conn).is_empty());
    }

    fn nothing_due_is_success(db) {
        let output = run(db, &[]);
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        assert_eq!(
            String::from_utf8(output.stdout).unwrap(),
            "{\"moved\":0,\"dry_run\":false,\"log_ids\":[],\"leases_expired\":0,\"expired_log_ids\":[],\"occurrences_made\":0}\n"
        );
    }
}

#[test]
fn reads_the_database_url_from_the_environment() {
    let db = crate::support::sqlite();
    let output = crate::support::tick_runner()
        .env("DATABASE_URL", format!("sqlite://{}", db.url))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(json_lines(&output)[0]["moved"], 0);
}

/// A SQLite file the process may only read: a dry run reads it (and writes nothing, not even
/// its schema check), a tick refuses it with a clear message.
#[cfg(unix)]
#[test]
fn a_sqlite_file_it_may_not_write_gets_a_dry_run_and_a_clear_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let (url, due) =
        scheduler_testkit::read_only_sqlite(dir.path(), |conn| insert_due_logs(conn, 3));
    let run_as_reader = |args: &[&str]| {
        scheduler_testkit::unprivileged(env!("CARGO_BIN_EXE_tick-runner").as_ref(), dir.path())
            .env_remove("DATABASE_URL")
            .args(["--database-url", &url])
            .args(args)
            .output()
            .unwrap()
    };
    let dry = run_as_reader(&["--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{dry:?}");
    assert_eq!(ids(&json_lines(&dry)[0]), due);
    let tick = run_as_reader(&[]);
    assert_eq!(tick.status.code(), Some(1), "{tick:?}");
    let stderr = String::from_utf8(tick.stderr).unwrap();
    assert!(
        stderr.contains("the database cannot be written"),
        "{stderr}"
    );
    let conn =
        &mut scheduler_store::connect(&scheduler_store::DatabaseUrl::Sqlite(url), false).unwrap();
    assert_eq!(count_status(conn, "scheduled"), 3);
}

/// A PostgreSQL database in read-only mode (as a standby is): a dry run reads it, a tick is
/// refused with a clear message.
#[test]
fn a_read_only_postgresql_database_gets_a_dry_run_and_a_clear_refusal() {
    let Some(db) = crate::support::postgres() else {
        return;
    };
    let due = insert_due_logs(&mut db.conn(), 3);
    let name = db
        .url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "ALTER DATABASE {name} SET default_transaction_read_only = on"
        )),
        &mut db.conn(),
    )
    .unwrap();
    let dry = run(&db, &["--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{dry:?}");
    assert_eq!(ids(&json_lines(&dry)[0]), due);
    let tick = run(&db, &[]);
    assert_eq!(tick.status.code(), Some(1), "{tick:?}");
    let stderr = String::from_utf8(tick.stderr).unwrap();
    assert!(
        stderr.contains("the database cannot be written"),
        "{stderr}"
    );
}
