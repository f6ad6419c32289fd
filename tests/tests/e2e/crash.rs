//! Guarantee 3: a process killed with SIGKILL at an arbitrary instant leaves no log without
//! its events and no event without its log: an api-server killed under a load of schedule
//! requests, and a tick-runner killed in the middle of a 50,000-log tick.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use e2e::{
    insert_due_logs, json_lines, sqlite_integrity, tick_once, tick_runner, Audit, Server, TestDb,
};
use serde_json::json;

use crate::both_backends;

/// After a crash: the SQLite file is sound and the ledger matches the logs. On PostgreSQL it
/// first waits for the killed process's sessions to end: a transaction whose `COMMIT` was sent
/// before the kill commits after it, and a count taken before would miss it.
fn check_after_crash(db: &TestDb) -> Audit {
    let conn = &mut db.conn();
    if db.backend == e2e::Backend::Sqlite {
        assert_eq!(sqlite_integrity(conn), "ok");
    } else {
        wait_for_other_sessions_to_end(conn);
    }
    let audit = Audit::read(conn);
    audit.assert_consistent();
    audit
}

/// Waits (at most 30 s) until no other session is connected to this PostgreSQL database.
fn wait_for_other_sessions_to_end(conn: &mut scheduler_store::Conn) {
    #[derive(QueryableByName)]
    struct Others {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let started = Instant::now();
    loop {
        let others: Others = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .get_result(conn)
        .unwrap();
        if others.n == 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{} sessions still open",
            others.n
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn count_pending(db: &TestDb) -> i64 {
    use scheduler_store::schema::publish_logs::dsl as p;
    p::publish_logs
        .filter(p::status.eq("pending"))
        .count()
        .get_result(&mut db.conn())
        .unwrap()
}

const ACCOUNTS: [(&str, &str); 3] = [
    ("acc_a", "instagram"),
    ("acc_b", "tiktok"),
    ("acc_c", "youtube"),
];

both_backends! {
    fn api_server_killed_under_load(backend) {
        let db = TestDb::new(backend);
        let server = Server::start(&db.url, &[]);
        for (id, platform) in ACCOUNTS {
            let r = server.post("/accounts", &json!({"id": id, "platform": platform}));
            assert_eq!(r.status, 201, "{}", r.text);
        }
        assert_eq!(server.post("/clips", &json!({"id": "clip_1"})).status, 201);

        let accepted = Mutex::new(Vec::<String>::new());
        let answered = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            for w in 0..8u32 {
                let (server, accepted, answered, stop) = (&server, &accepted, &answered, &stop);
                s.spawn(move || {
                    let mut mine: Vec<String> = Vec::new();
                    let mut i = 0u32;
                    while !stop.load(Ordering::SeqCst) {
                        i += 1;
                        let (account, platform) = ACCOUNTS[((w + i) % 3) as usize];
                        let item = |k: u32| json!({"clip_id": "clip_1", "platform": platform,
                            "social_account_id": account,
                            "scheduled_for": format!("2031-{:02}-{:02}T12:00:00Z",
                                1 + (w + k) % 12, 1 + i % 28)});
                        let (path, body) = match i % 6 {
                            // A batch of 10.
                            0 => ("/publishing/schedule/batch".to_owned(),
                                  json!({"items": (0..10).map(item).collect::<Vec<_>>()})),
                            3 if !mine.is_empty() => (
                                format!("/publishing/logs/{}/reschedule", mine[i as usize % mine.len()]),
                                json!({"scheduled_for": "2032-06-01T12:00:00Z"})),
                            5 if !mine.is_empty() => (
                                format!("/publishing/logs/{}/cancel", mine.swap_remove(0)),
                                json!({})),
                            _ => ("/publishing/schedule".to_owned(), item(0)),
                        };
                        let r = match server.try_post(&path, &body) {
                            Ok(r) => r,
                            // The server is gone.
                            Err(_) => break,
                        };
                        let new_ids: Vec<String> = match (r.status.as_u16(), path.as_str()) {
                            (201, "/publishing/schedule") => {
                                vec![r.body["publish_log_id"].as_str().unwrap().to_owned()]
                            }
                            (200, "/publishing/schedule/batch") => r.body["results"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .filter(|x| x["status"] == "scheduled")
                                .map(|x| x["publish_log_id"].as_str().unwrap().to_owned())
                                .collect(),
                            (200, _) => vec![],
                            _ => panic!("{path}: unexpected answer {}: {}", r.status, r.text),
                        };
                        mine.extend(new_ids.iter().cloned());
                        accepted.lock().unwrap().extend(new_ids);
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
            let start = Instant::now();
            while answered.load(Ordering::SeqCst) < 120 {
                assert!(start.elapsed() < Duration::from_secs(60), "the load does not run");
                std::thread::sleep(Duration::from_millis(5));
            }
            server.kill9();
            stop.store(true, Ordering::SeqCst);
        });

        let audit = check_after_crash(&db);
        let accepted = accepted.into_inner().unwrap();
        for id in &accepted {
            assert!(audit.logs.contains_key(id), "accepted {id} is lost");
        }
        // Requests in flight at the kill (at most one per thread, a batch of 10 at most) may
        // have committed without an answer; nothing else was written.
        assert!(audit.logs.len() <= accepted.len() + 8 * 10, "{} logs, {} accepted", audit.logs.len(), accepted.len());

        // The restarted server works on the same database.
        let server = Server::start(&db.url, &[]);
        let r = server.post("/publishing/schedule", &json!({"clip_id": "clip_1",
            "platform": "instagram", "social_account_id": "acc_a",
            "scheduled_for": "2032-01-01T12:00:00Z"}));
        assert_eq!(r.status, 201, "{}", r.text);
        drop(server);
        check_after_crash(&db);
    }

    fn tick_runner_killed_mid_tick(backend) {
        const DUE: usize = 50_000;
        let db = TestDb::new(backend);
        db.migrate();
        let started = Instant::now();
        insert_due_logs(&mut db.conn(), DUE);
        eprintln!("{backend}: inserted {DUE} due logs in {:?}", started.elapsed());

        let mut child = tick_runner(&db.url)
            .args(["--batch-size", "500"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill it once some batches have committed, well before the end.
        let start = Instant::now();
        loop {
            let pending = count_pending(&db);
            if pending >= 5_000 {
                break;
            }
            assert!(child.try_wait().unwrap().is_none(), "the tick ended before the kill");
            assert!(start.elapsed() < Duration::from_secs(120), "the tick does not progress");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(child.try_wait().unwrap().is_none(), "the tick ended before the kill");
        child.kill().unwrap();
        child.wait().unwrap();
        eprintln!("{backend}: killed after {:?}", start.elapsed());

        let audit = check_after_crash(&db);
        let first = audit.with_status("pending").len();
        assert!((5_000..DUE).contains(&first), "{first} moved before the kill");
        assert_eq!(first % 500, 0, "a batch committed in part: {first}");

        let output = tick_once(&db.url, &["--batch-size", "500"]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let second = json_lines(&output)[0]["moved"].as_u64().unwrap();
        assert_eq!(first as u64 + second, DUE as u64);

        let audit = check_after_crash(&db);
        assert_eq!(audit.with_status("pending").len(), DUE);
    }
}
