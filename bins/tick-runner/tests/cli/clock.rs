//! Whose clock decides what is due: PostgreSQL's own; the host's on SQLite.

use chrono::{TimeDelta, Utc};

use crate::support::{count_status, insert_logs, json_lines, postgres, run, sqlite};

/// An hour behind: a log due a minute ago by the real clock is not due yet on this host.
const HOST_BEHIND: &str = "-3600";

#[test]
fn postgres_decides_by_its_own_clock() {
    let Some(db) = postgres() else { return };
    let conn = &mut db.conn();
    let due = insert_logs(
        conn,
        1,
        Utc::now() - TimeDelta::minutes(1),
        TimeDelta::seconds(1),
    );
    let output = run(&db, &["--host-clock-offset", HOST_BEHIND]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(json_lines(&output)[0]["log_ids"], serde_json::json!(due));
    assert_eq!(count_status(conn, "pending"), 1);
}

#[test]
fn sqlite_decides_by_the_host_clock() {
    // The control: the same skew does hold the log back where the host clock decides, so the
    // PostgreSQL test above really ran with a host clock behind.
    let db = sqlite();
    let conn = &mut db.conn();
    insert_logs(
        conn,
        1,
        Utc::now() - TimeDelta::minutes(1),
        TimeDelta::seconds(1),
    );
    let output = run(&db, &["--host-clock-offset", HOST_BEHIND]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(json_lines(&output)[0]["moved"], 0);
    assert_eq!(count_status(conn, "scheduled"), 1);
    let output = run(&db, &[]);
    assert_eq!(json_lines(&output)[0]["moved"], 1);
}
