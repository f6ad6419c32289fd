//! `--interval`: a tick per interval until SIGTERM, which exits 0.

use std::time::{Duration, Instant};

use chrono::{SubsecRound, TimeDelta, Utc};
use diesel::RunQueryDsl;
use scheduler_testkit::Process;

use crate::support::{both_backends, count_status, ids, insert_due_logs, insert_logs, spawn_loop};

/// Sends `signal` and checks that the loop exits 0 within 5 s.
fn stops_with_exit_0(runner: &mut Process, signal: &str) {
    runner.signal(signal);
    let status = runner
        .wait(Duration::from_secs(5))
        .expect("tick-runner exits");
    assert_eq!(status.code(), Some(0), "{status:?}");
}

both_backends! {
    fn loop_moves_new_due_logs_and_stops_on_sigterm(db) {
        let mut runner = spawn_loop(db, &["--interval", "1"]);
        let first = runner.next_line(Duration::from_secs(10)).expect("no first tick");
        assert_eq!(first["moved"], 0);

        let conn = &mut db.conn();
        let due = insert_due_logs(conn, 3);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut moved = Vec::new();
        while moved.len() < due.len() && Instant::now() < deadline {
            if let Some(line) = runner.next_line(Duration::from_secs(3)) {
                assert_eq!(line["dry_run"], false);
                moved.extend(ids(&line));
            }
        }
        assert_eq!(moved, due);
        assert_eq!(count_status(conn, "pending"), 3);

        stops_with_exit_0(&mut runner, "TERM");
    }
}

#[test]
fn a_log_due_in_a_second_is_moved_within_the_interval() {
    let db = crate::support::sqlite();
    let mut runner = spawn_loop(&db, &["--interval", "1"]);
    runner
        .next_line(Duration::from_secs(10))
        .expect("no first tick");
    let conn = &mut db.conn();
    // Due at the next whole second but one.
    let due_at = (Utc::now() + TimeDelta::seconds(2)).trunc_subsecs(0);
    let id = insert_logs(conn, 1, due_at, TimeDelta::seconds(1)).remove(0);
    loop {
        let line = runner.next_line(Duration::from_secs(5)).expect("no tick");
        if ids(&line).contains(&id) {
            let late = Utc::now() - due_at;
            assert!(
                late < TimeDelta::milliseconds(1_500),
                "moved {late} after it was due"
            );
            break;
        }
    }
    stops_with_exit_0(&mut runner, "TERM");
}

#[test]
fn sigint_also_stops_the_loop() {
    let db = crate::support::sqlite();
    let mut runner = spawn_loop(&db, &["--interval", "60"]);
    runner
        .next_line(Duration::from_secs(10))
        .expect("no first tick");
    let started = Instant::now();
    stops_with_exit_0(&mut runner, "INT");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "slow to stop: {:?}",
        started.elapsed()
    );
}

#[test]
fn a_tick_that_fails_in_loop_mode_is_logged_and_retried() {
    let db = crate::support::sqlite();
    let mut runner = spawn_loop(&db, &["--interval", "1"]);
    runner
        .next_line(Duration::from_secs(10))
        .expect("no first tick");
    let conn = &mut db.conn();
    // The table goes away: the ticks fail and print nothing, and the process keeps running.
    diesel::sql_query("ALTER TABLE publish_logs RENAME TO publish_logs_away")
        .execute(conn)
        .unwrap();
    std::thread::sleep(Duration::from_millis(2_500));
    while let Some(line) = runner.next_line(Duration::ZERO) {
        // A tick that began before the rename.
        assert_eq!(line["moved"], 0, "{line}");
    }
    assert!(runner.next_line(Duration::from_millis(1_500)).is_none());
    assert!(
        runner.is_running(),
        "the loop exited on a failed tick: {}",
        runner.stderr()
    );
    let stderr = runner.stderr();
    assert!(stderr.contains("failed to tick"), "{stderr}");
    assert!(stderr.contains("retrying at the next interval"), "{stderr}");

    // The table comes back: the next tick works again.
    diesel::sql_query("ALTER TABLE publish_logs_away RENAME TO publish_logs")
        .execute(conn)
        .unwrap();
    let due = insert_due_logs(conn, 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut moved = Vec::new();
    while moved.is_empty() && Instant::now() < deadline {
        if let Some(line) = runner.next_line(Duration::from_secs(2)) {
            moved = ids(&line);
        }
    }
    assert_eq!(moved, due, "{}", runner.stderr());
    stops_with_exit_0(&mut runner, "TERM");
}
