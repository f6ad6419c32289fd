//! Guarantee 2: the API's tick (on several server processes) and several tick-runner
//! processes at the same time over the same due logs → each log is moved once, with exactly
//! one enqueued event, and the `moved` of every tick add up to the number of due logs.

use std::collections::HashSet;
use std::sync::Barrier;

use e2e::{insert_due_logs, json_lines, log_ids, tick_once, Audit, Server, TestDb};
use serde_json::Value;

use crate::both_backends;

both_backends! {
    fn api_ticks_and_tick_runners_move_each_log_once(backend) {
        let (due, instances, runners) = match backend {
            e2e::Backend::Postgres => (5_000, 2, 3),
            e2e::Backend::Sqlite => (2_000, 1, 2),
        };
        let db = TestDb::new(backend);
        db.migrate();
        let ids = insert_due_logs(&mut db.conn(), due);
        let servers: Vec<Server> = (0..instances).map(|_| Server::start(&db.url, &[])).collect();

        // Everything starts at once: two API ticks per server and the tick-runners (small
        // batches, so the ticks interleave).
        let api_ticks = instances * 2;
        let barrier = Barrier::new(api_ticks + runners);
        let lines: Vec<Value> = std::thread::scope(|s| {
            let mut handles = Vec::new();
            for i in 0..api_ticks {
                let (server, barrier) = (&servers[i % instances], &barrier);
                handles.push(s.spawn(move || {
                    barrier.wait();
                    let r = server.call("POST", "/publishing/scheduler/tick", None);
                    assert_eq!(r.status, 200, "{}", r.text);
                    vec![r.body]
                }));
            }
            for _ in 0..runners {
                let (url, barrier) = (&db.url, &barrier);
                handles.push(s.spawn(move || {
                    barrier.wait();
                    let output = tick_once(url, &["--batch-size", "100"]);
                    assert!(
                        output.status.success(),
                        "{}",
                        String::from_utf8_lossy(&output.stderr)
                    );
                    json_lines(&output)
                }));
            }
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });

        let moved: u64 = lines.iter().map(|l| l["moved"].as_u64().unwrap()).sum();
        assert_eq!(moved, due as u64, "the ticks' moved: {:?}",
            lines.iter().map(|l| &l["moved"]).collect::<Vec<_>>());
        let mut seen = HashSet::new();
        for line in &lines {
            assert_eq!(line["dry_run"], false);
            let line_ids = log_ids(line);
            assert_eq!(line_ids.len() as u64, line["moved"].as_u64().unwrap());
            for id in line_ids {
                assert!(seen.insert(id.clone()), "{id} moved twice");
            }
        }
        assert_eq!(seen, ids.iter().cloned().collect::<HashSet<_>>());

        let audit = Audit::read(&mut db.conn());
        assert_eq!(audit.with_status("pending").len(), due);
        let enqueued = audit.count("enqueued");
        assert_eq!(enqueued.len(), due);
        assert!(enqueued.values().all(|&n| n == 1));
        audit.assert_consistent();

        // Nothing is left: one more tick from each side moves nothing.
        let r = servers[0].call("POST", "/publishing/scheduler/tick", None);
        assert_eq!(r.body["moved"], 0, "{}", r.text);
        assert_eq!(json_lines(&tick_once(&db.url, &[]))[0]["moved"], 0);
    }
}
