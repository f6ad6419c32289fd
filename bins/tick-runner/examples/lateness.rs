//! Measures due→pending lateness of `tick-runner --interval 1` (not a test; figures in
//! docs/benchmarks.md).
//!
//! ```sh
//! cargo build --release -p tick-runner
//! cargo run --release -p tick-runner --example lateness -- target/release/tick-runner 10000 60
//! ```
//!
//! Makes a migrated SQLite file in a temporary directory, inserts COUNT logs due over the next
//! SPREAD seconds (evenly, on whole seconds: the store's timestamps have no fraction), starts
//! the binary in loop mode, and for every log takes the instant its id arrives on the
//! binary's stdout minus its `scheduled_for`. That is an upper bound of the time the log
//! became `pending` (the commit precedes the line), at the host clock's resolution. The
//! lateness from the rows themselves (`updated_at - scheduled_for`) is printed too; both are
//! whole seconds there, so it only tells "same second" from "a second or more late".

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, SubsecRound, TimeDelta, Utc};
use diesel::prelude::*;
use scheduler_store::{Conn, DatabaseUrl, Db, Mode, OpenOptions};
use scheduler_testkit::{insert_account_and_clip, Logs};

fn main() {
    let mut args = std::env::args().skip(1);
    let binary = args
        .next()
        .unwrap_or_else(|| "target/release/tick-runner".into());
    let count: usize = args.next().map_or(10_000, |a| a.parse().unwrap());
    let spread: i64 = args.next().map_or(60, |a| a.parse().unwrap());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lateness.db");
    let url = DatabaseUrl::parse(path.to_str().unwrap()).unwrap();
    let options = OpenOptions {
        mode: Mode::Migrate,
        ..OpenOptions::default()
    };
    let db = Db::open(&url, &options).unwrap();
    let mut pooled = db.conn().unwrap();
    let conn: &mut scheduler_store::Conn = &mut pooled;

    let first = (Utc::now() + TimeDelta::seconds(3)).trunc_subsecs(0);
    let due = insert_logs(conn, count, first, spread);
    eprintln!("{count} logs due from {first} over {spread} s; starting {binary} --interval 1");

    let mut child = Command::new(&binary)
        .args(["--interval", "1", "--database-url"])
        .arg(&path)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut late_ms: Vec<f64> = Vec::with_capacity(count);
    let mut ticks = 0;
    let deadline = Instant::now() + Duration::from_secs(u64::try_from(spread).unwrap() + 30);
    for line in stdout.lines() {
        let received = Utc::now();
        let line: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        ticks += 1;
        for id in line["log_ids"].as_array().unwrap() {
            let due_at = due[id.as_str().unwrap()];
            late_ms.push((received - due_at).num_microseconds().unwrap() as f64 / 1000.0);
        }
        if late_ms.len() >= count || Instant::now() > deadline {
            break;
        }
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();

    late_ms.sort_by(f64::total_cmp);
    let pct = |p: f64| late_ms[((late_ms.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "moved {} of {count} logs in {ticks} ticks; exit {status}",
        late_ms.len()
    );
    println!(
        "lateness by stdout receipt (ms): min {:.1}  p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        late_ms[0],
        pct(0.50),
        pct(0.90),
        pct(0.99),
        late_ms[late_ms.len() - 1]
    );

    use scheduler_store::schema::publish_logs::dsl as p;
    let rows: Vec<(Option<NaiveDateTime>, NaiveDateTime)> = p::publish_logs
        .filter(p::status.eq("pending"))
        .select((p::scheduled_for, p::updated_at))
        .load(conn)
        .unwrap();
    let mut by_seconds: HashMap<i64, usize> = HashMap::new();
    for (scheduled_for, updated_at) in rows {
        let late = (updated_at - scheduled_for.unwrap()).num_seconds();
        *by_seconds.entry(late).or_default() += 1;
    }
    let mut by_seconds: Vec<_> = by_seconds.into_iter().collect();
    by_seconds.sort();
    println!("lateness by updated_at - scheduled_for (whole seconds: logs): {by_seconds:?}");
}

/// Inserts `count` scheduled logs due evenly over `spread` seconds from `first` (with random
/// ids, so that each batch's events spread over the ledger's index); returns each id's due
/// instant (the stored one: whole seconds).
fn insert_logs(
    conn: &mut Conn,
    count: usize,
    first: DateTime<Utc>,
    spread: i64,
) -> HashMap<String, DateTime<Utc>> {
    let (account, clip) = insert_account_and_clip(conn);
    let step = TimeDelta::microseconds(spread * 1_000_000 / i64::try_from(count).unwrap());
    let ids = scheduler_testkit::insert_logs(
        conn,
        &Logs {
            account: &account,
            clip: &clip,
            count,
            first_due: first,
            step,
            created_at: Utc::now(),
            with_events: false,
            random_ids: true,
        },
    );
    ids.into_iter()
        .enumerate()
        .map(|(i, id)| {
            let due = first + step * i32::try_from(i).unwrap();
            (id, due.trunc_subsecs(0))
        })
        .collect()
}
