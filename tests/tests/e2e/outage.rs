//! Database outage (PostgreSQL): a TCP proxy the test controls sits between the program and
//! PostgreSQL; cutting it drops every live connection and refuses new ones. The server
//! answers 503 with a JSON error (and `/healthz` 503) while the link is cut, writes nothing in
//! part, and recovers by itself once the link is back; the tick-runner's loop keeps running
//! through the outage and moves a due log once the link is back. The shared PostgreSQL server
//! is never touched.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use e2e::{assert_no_leak, eventually, insert_due_logs, Audit, Proxy, Server, TestDb};
use serde_json::json;

/// A PostgreSQL database and a proxy to its server; the URL through the proxy has a 2-second
/// connect timeout.
fn behind_proxy() -> Option<(TestDb, Proxy, String)> {
    let db = TestDb::postgres()?;
    db.migrate();
    let proxy = Proxy::to_postgres(&db.url);
    let url = proxy.url_for(&db.url);
    let url = if url.contains('?') {
        format!("{url}&connect_timeout=2")
    } else {
        format!("{url}?connect_timeout=2")
    };
    Some((db, proxy, url))
}

fn schedule_body(i: u32) -> serde_json::Value {
    json!({"clip_id": "clip_1", "platform": "tiktok", "social_account_id": "acc_1",
           "scheduled_for": format!("2031-03-{:02}T17:00:00Z", 1 + i % 28)})
}

/// How the link fails.
#[derive(Debug, Clone, Copy)]
enum Failure {
    /// Live connections dropped, new ones refused.
    Cut,
    /// Live connections dropped, new ones never answered.
    Blackhole,
}

fn fail(proxy: &Proxy, failure: Failure) {
    match failure {
        Failure::Cut => proxy.cut(),
        Failure::Blackhole => proxy.blackhole(),
    }
}

#[test]
fn server_answers_503_when_the_link_is_cut_and_recovers_by_itself() {
    server_outage(Failure::Cut);
}

#[test]
fn server_answers_503_when_the_link_is_a_black_hole_and_recovers_by_itself() {
    server_outage(Failure::Blackhole);
}

#[test]
fn tick_runner_loop_survives_a_cut_link() {
    tick_runner_outage(Failure::Cut);
}

#[test]
fn tick_runner_loop_survives_a_black_hole() {
    tick_runner_outage(Failure::Blackhole);
}

fn server_outage(failure: Failure) {
    let Some((db, proxy, url)) = behind_proxy() else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let server = Server::start(&url, &["--db-timeout", "2", "--db-pool-size", "4"]);
    assert_eq!(
        server
            .post("/accounts", &json!({"id": "acc_1", "platform": "tiktok"}))
            .status,
        201
    );
    assert_eq!(server.post("/clips", &json!({"id": "clip_1"})).status, 201);
    assert_eq!(
        server
            .post("/publishing/schedule", &schedule_body(0))
            .status,
        201
    );

    // A load runs through the cut: every answer is 201 or 503, never a 500, always JSON.
    let statuses = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for w in 0..4 {
            let (server, statuses, stop) = (&server, &statuses, &stop);
            s.spawn(move || {
                let mut i = w * 1000;
                while !stop.load(Ordering::SeqCst) {
                    i += 1;
                    let r = server.post("/publishing/schedule", &schedule_body(i));
                    assert!(r.is_json(), "not JSON: {r:?}");
                    assert_no_leak("schedule during the outage", &r);
                    statuses.lock().unwrap().push((r.status, r.text));
                }
            });
        }
        std::thread::sleep(Duration::from_millis(700));
        fail(&proxy, failure);
        std::thread::sleep(Duration::from_secs(5));
        stop.store(true, Ordering::SeqCst);
    });
    let statuses = statuses.into_inner().unwrap();
    let bad: Vec<_> = statuses
        .iter()
        .filter(|(s, _)| *s != 201 && *s != 503)
        .collect();
    assert!(
        bad.is_empty(),
        "answers other than 201/503 around the cut: {bad:?}\n{}",
        server
            .stderr()
            .lines()
            .filter(|l| l.contains("ERROR"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        statuses.iter().any(|(s, _)| *s == 503),
        "no 503 during the cut"
    );

    // While cut: every kind of request is a 503 with a JSON error, and the health check says so.
    let before = Audit::read(&mut db.conn());
    before.assert_consistent();
    for (method, path, body) in [
        ("GET", "/healthz", None),
        (
            "POST",
            "/publishing/schedule",
            Some(schedule_body(1).to_string()),
        ),
        (
            "POST",
            "/accounts",
            Some(json!({"platform": "tiktok"}).to_string()),
        ),
        ("POST", "/clips", Some("{}".to_owned())),
        ("GET", "/accounts/acc_1", None),
        ("POST", "/publishing/scheduler/tick", None),
        ("GET", "/ledger/events", None),
    ] {
        let r = server.call(method, path, body.as_deref());
        r.assert_error(503, "unavailable");
        assert_no_leak(path, &r);
    }
    // Nothing half-written: the tables hold what they held before.
    let after = Audit::read(&mut db.conn());
    assert_eq!(after.logs.len(), before.logs.len());
    assert_eq!(after.events.len(), before.events.len());
    assert!(server.is_running());

    // The link comes back: the same process recovers without a restart.
    proxy.restore();
    assert!(
        eventually(Duration::from_secs(20), || server.get("/healthz").status
            == 200),
        "the server does not recover:\n{}",
        server.stderr()
    );
    let r = server.post("/publishing/schedule", &schedule_body(2));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(server.get("/accounts/acc_1").status, 200);
    Audit::read(&mut db.conn()).assert_consistent();
}

fn tick_runner_outage(failure: Failure) {
    let Some((db, proxy, url)) = behind_proxy() else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let mut ticks = e2e::tick_loop(&url, &["--interval", "1"]);
    let first = ticks
        .next_line(Duration::from_secs(10))
        .expect("a first tick");
    assert_eq!(first["moved"], 0);

    fail(&proxy, failure);
    // Drain what was already printed; then, while cut, the ticks fail and nothing is printed.
    while ticks.next_line(Duration::from_millis(1500)).is_some() {}
    // A tick waits up to 5 s for a connection before it fails.
    assert!(
        eventually(Duration::from_secs(15), || ticks
            .stderr()
            .contains("retrying")),
        "no failed tick logged:\n{}",
        ticks.stderr()
    );
    assert!(
        ticks.is_running(),
        "tick-runner exited during the outage:\n{}",
        ticks.stderr()
    );
    assert!(
        ticks.next_line(Duration::from_millis(100)).is_none(),
        "a tick succeeded while cut"
    );
    let ids = insert_due_logs(&mut db.conn(), 1);

    proxy.restore();
    let moved = eventually(Duration::from_secs(20), || {
        ticks
            .next_line(Duration::from_millis(200))
            .is_some_and(|line| line["moved"] == 1 && line["log_ids"][0] == ids[0].as_str())
    });
    assert!(
        moved,
        "the due log was not moved after the outage:\n{}",
        ticks.stderr()
    );
    assert!(ticks.is_running());
    let audit = Audit::read(&mut db.conn());
    assert_eq!(audit.logs[&ids[0]].status, "pending");
    audit.assert_consistent();
}
