//! Several tick-runners at once over the same due logs: each log moves exactly once.

use std::collections::HashSet;

use crate::support::{
    count_status, enqueued_log_ids, ids, insert_due_logs, json_lines, postgres, sqlite,
    tick_runner, TestDb,
};

/// Starts `processes` tick-runners together over `logs` due logs and checks the guarantee.
fn all_at_once(db: &TestDb, processes: usize, logs: usize) {
    let conn = &mut db.conn();
    let due: HashSet<String> = insert_due_logs(conn, logs).into_iter().collect();

    // Spawn them all before waiting on any; small batches make them interleave.
    let children: Vec<_> = (0..processes)
        .map(|_| {
            tick_runner()
                .args(["--database-url", &db.url, "--batch-size", "100"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect();

    let mut moved_total = 0;
    let mut seen = HashSet::new();
    for output in &outputs {
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        let lines = json_lines(output);
        assert_eq!(lines.len(), 1);
        let moved = usize::try_from(lines[0]["moved"].as_u64().unwrap()).unwrap();
        let moved_ids = ids(&lines[0]);
        assert_eq!(moved, moved_ids.len());
        moved_total += moved;
        for id in moved_ids {
            assert!(seen.insert(id.clone()), "{id} moved twice");
        }
    }
    eprintln!(
        "moved per process: {:?}",
        outputs
            .iter()
            .map(|o| json_lines(o)[0]["moved"].clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(moved_total, logs);
    assert_eq!(seen, due);
    assert_eq!(count_status(conn, "pending"), i64::try_from(logs).unwrap());
    assert_eq!(count_status(conn, "scheduled"), 0);
    let enqueued = enqueued_log_ids(conn);
    assert_eq!(enqueued.len(), logs, "enqueued events");
    assert_eq!(enqueued.into_iter().collect::<HashSet<_>>(), due);
}

#[test]
fn two_processes_on_sqlite() {
    all_at_once(&sqlite(), 2, 2_000);
}

#[test]
fn four_processes_on_postgres() {
    if let Some(db) = postgres() {
        all_at_once(&db, 4, 5_000);
    }
}
