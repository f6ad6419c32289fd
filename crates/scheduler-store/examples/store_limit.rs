//! The store's own limit for `POST /publishing/schedule`'s work (issue 21): the schedules
//! `scripts/bench-api.sh` sends (1,000 Instagram accounts in five zones, each request a random
//! account and a random minute of the next 365 days), through `Db::write` and
//! `scheduler_store::schedule` in one process, 32 in flight, without HTTP or JSON: what the
//! server could reach if answering cost nothing. On SQLite (and, with `TEST_DATABASE_URL`,
//! PostgreSQL with a pool of 16, the server's default).
//!
//! `TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo run --release -p scheduler-store --example store_limit`
//!
//! Optional arguments: seconds (default 20), requests in flight (32), one backend alone
//! (`sqlite` or `postgres`).

#[path = "../benches/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use scheduler_core::RuleSet;
use scheduler_store::{
    create_account, create_clip, schedule, Db, Mode, NewAccount, NewClip, NewSchedule, OpenOptions,
    ScheduledBy, StoreError, Strategy,
};

const ACCOUNTS: u64 = 1_000;
const ZONES: [&str; 5] = [
    "UTC",
    "America/New_York",
    "Europe/Madrid",
    "Asia/Kolkata",
    "Australia/Sydney",
];

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map_or(20, |a| a.parse().unwrap());
    let in_flight: usize = args.next().map_or(32, |a| a.parse().unwrap());
    let only = args.next();
    let rules = Arc::new(RuleSet::default());
    println!("| backend | schedules/s | p50 | p99 | max |");
    println!("|---|---:|---:|---:|---:|");
    for test_db in support::databases() {
        if only
            .as_deref()
            .is_some_and(|only| only != test_db.backend.to_string())
        {
            continue;
        }
        let db = test_db.open(&OpenOptions {
            mode: Mode::Migrate,
            max_connections: 16,
            ..OpenOptions::default()
        });
        let mut conn = test_db.conn();
        for i in 1..=ACCOUNTS {
            let account = NewAccount {
                id: Some(format!("acc_bench_{i}")),
                platform: "instagram".into(),
                timezone: Some(ZONES[(i % 5) as usize].into()),
                ..NewAccount::default()
            };
            create_account(&mut conn, &rules, &account, Utc::now()).unwrap();
            let clip = NewClip {
                id: Some(format!("clip_bench_{i}")),
                ..NewClip::default()
            };
            create_clip(&mut conn, &clip, Utc::now()).unwrap();
        }
        drop(conn);
        let (count, mut latencies) = run(&db, &rules, seconds, in_flight);
        latencies.sort_unstable();
        let at =
            |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
        println!(
            "| {} | {:.0} | {} | {} | {} |",
            test_db.backend,
            count as f64 / seconds as f64,
            ms(at(0.5)),
            ms(at(0.99)),
            ms(latencies[latencies.len() - 1])
        );
    }
}

/// `in_flight` tasks scheduling for `seconds`: how many were scheduled, and each one's time.
fn run(db: &Db, rules: &Arc<RuleSet>, seconds: u64, in_flight: usize) -> (usize, Vec<Duration>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let times = Arc::new(Mutex::new(Vec::new()));
    let base = Utc::now() + TimeDelta::days(1);
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for task in 0..in_flight {
            let (db, rules, stop, times) = (
                db.clone(),
                Arc::clone(rules),
                Arc::clone(&stop),
                Arc::clone(&times),
            );
            tasks.push(tokio::spawn(async move {
                let mut state = (task as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                let mut next = move || {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state
                };
                let mut mine = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let n = next() % ACCOUNTS + 1;
                    let minute = (next() % (365 * 24 * 60)) as i64;
                    let request = NewSchedule {
                        clip_id: format!("clip_bench_{n}"),
                        platform: "instagram".into(),
                        social_account_id: format!("acc_bench_{n}"),
                        scheduled_for: Some(base + TimeDelta::minutes(minute)),
                        scheduled_window_end: None,
                        scheduled_by: ScheduledBy::RuleEngine,
                        priority: scheduler_core::Priority::Normal,
                        strategy: Strategy::Earliest,
                    };
                    let rules = Arc::clone(&rules);
                    let started = Instant::now();
                    db.write(move |conn| -> Result<_, StoreError> {
                        schedule(conn, &rules, &request, Utc::now())
                    })
                    .await
                    .unwrap();
                    mine.push(started.elapsed());
                }
                times.lock().unwrap().extend(mine);
            }));
        }
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            task.await.unwrap();
        }
    });
    let times = std::mem::take(&mut *times.lock().unwrap());
    (times.len(), times)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
