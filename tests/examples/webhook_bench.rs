//! Webhook deliveries per second, and what delivering costs schedule throughput.
//!
//! 1. A release api-server with one subscription to a receiver on loopback; `N` events are
//!    written in one transaction (straight into the ledger, as a burst of schedules would
//!    write them); the figure is events delivered per second from its commit until the
//!    receiver has every one.
//! 2. Schedule requests per second from 32 client threads for 10 s (1,000 accounts, random
//!    times), with no subscription, then with one and with three subscriptions delivering every
//!    event the schedules write (their receivers run in this process, on the same cores).
//!
//! ```sh
//! cargo build --release --workspace
//! cargo run --release -p e2e --example webhook_bench -- sqlite 20000
//! TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo run --release -p e2e --example webhook_bench -- postgres 20000
//! ```

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::{client, insert_due_logs, Backend, Server, TestDb};
use scheduler_testkit::{Receiver, Reply};
use serde_json::json;

const CLIENTS: usize = 32;
const LOAD: Duration = Duration::from_secs(10);
const ACCOUNTS: u64 = 1_000;

fn subscribe(server: &Server, receiver: &Receiver) -> String {
    let answer = server.post("/webhooks", &json!({"url": receiver.url}));
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body["id"].as_str().unwrap().to_owned()
}

/// Schedule requests answered per second by `server` from [`CLIENTS`] threads for [`LOAD`],
/// as `scripts/load/schedule.lua` sends them: a random one of [`ACCOUNTS`] accounts, a random
/// minute of the next year.
fn schedules_per_second(server: &Server, seed: u64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let base = chrono::Utc::now() + chrono::TimeDelta::days(1);
    let threads: Vec<_> = (0..CLIENTS as u64)
        .map(|t| {
            let (url, done, stop) = (
                format!("{}/publishing/schedule", server.base),
                done.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                let http = client();
                let mut state = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(t * 2 + 1);
                let mut random = move |below: u64| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    (state >> 33) % below
                };
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let account = random(ACCOUNTS);
                    let at = base + chrono::TimeDelta::minutes(random(365 * 24 * 60) as i64);
                    let r = http
                        .post(&url)
                        .json(&json!({"clip_id": "clip", "platform": "instagram",
                                      "social_account_id": format!("acc_{account}"),
                                      "scheduled_for": at.to_rfc3339()}))
                        .send()
                        .unwrap();
                    assert!(r.status().is_success(), "{}", r.status());
                    n += 1;
                }
                done.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(LOAD);
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = match args.get(1).map(String::as_str) {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let events: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let db = TestDb::new(backend);
    let server = Server::start(
        &db.url,
        &["--allow-private-webhooks", "--db-pool-size", "32"],
    );

    // 1. Deliveries per second.
    let receiver = Receiver::start(|_| Reply::Status(204, String::new()));
    let hook = subscribe(&server, &receiver);
    // The clock starts once the events are committed: none can be delivered before.
    insert_due_logs(&mut db.conn(), events);
    let started = Instant::now();
    // Counting only: reading the deliveries would hold the receiver's lock.
    while receiver.count() < events {
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "{} of {events}",
            receiver.count()
        );
    }
    let elapsed = started.elapsed();
    let distinct: HashSet<String> = receiver.deliveries().into_iter().map(|d| d.id).collect();
    assert_eq!(distinct.len(), events, "every event, once each");
    println!(
        "{backend:?}: {events} events delivered in {:.2} s: {:.0} deliveries/s ({} requests)",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64(),
        receiver.count()
    );
    let deleted = server.call("DELETE", &format!("/webhooks/{hook}"), None);
    assert_eq!(deleted.status, 204);

    // 2. Schedules per second, without and with deliveries.
    assert_eq!(server.post("/clips", &json!({"id": "clip"})).status, 201);
    for i in 0..ACCOUNTS {
        let account = json!({"id": format!("acc_{i}"), "platform": "instagram"});
        assert_eq!(server.post("/accounts", &account).status, 201);
    }
    let quiet = schedules_per_second(&server, 1);
    println!("{backend:?}: schedules/s with no subscription {quiet:.0}");
    let mut receivers: Vec<Receiver> = Vec::new();
    for (round, subscriptions) in [(2, 1), (3, 3)] {
        while receivers.len() < subscriptions {
            let receiver = Receiver::start(|_| Reply::Status(204, String::new()));
            subscribe(&server, &receiver);
            receivers.push(receiver);
        }
        let before: usize = receivers.iter().map(Receiver::count).sum();
        let delivering = schedules_per_second(&server, round);
        let delivered = receivers.iter().map(Receiver::count).sum::<usize>() - before;
        println!(
            "{backend:?}: schedules/s with {subscriptions} subscription(s) delivering every event \
             {delivering:.0} ({:+.1} %; {delivered} deliveries made meanwhile)",
            (delivering / quiet - 1.0) * 100.0
        );
    }
}
