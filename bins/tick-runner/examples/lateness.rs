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
use scheduler_core::RuleSet;
use scheduler_store::{
    create_account, create_clip, Conn, DatabaseUrl, Db, Mode, NewAccount, NewClip, OpenOptions,
};

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
    let conn = &mut db.conn().unwrap();

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

/// Inserts `count` scheduled logs due evenly over `spread` seconds from `first`; returns each
/// id's due instant.
fn insert_logs(
    conn: &mut Conn,
    count: usize,
    first: DateTime<Utc>,
    spread: i64,
) -> HashMap<String, DateTime<Utc>> {
    let now = Utc::now();
    let account = create_account(
        conn,
        &RuleSet::default(),
        &NewAccount {
            platform: "instagram".into(),
            ..NewAccount::default()
        },
        now,
    )
    .unwrap();
    let clip = create_clip(conn, &NewClip::default(), now).unwrap();
    let stamp = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
    let mut due = HashMap::new();
    let mut values = Vec::new();
    for i in 0..count {
        let id = format!("log_{}", uuid::Uuid::new_v4().simple());
        let offset = i64::try_from(i).unwrap() * spread / i64::try_from(count).unwrap();
        let at = first + TimeDelta::seconds(offset);
        values.push(format!(
            "('{id}', '{clip}', 'instagram', '{account}', 'scheduled', 'scheduled', '{t}', \
             NULL, 'manual', '{t}', NULL, '{c}', '{c}')",
            clip = clip.id,
            account = account.id,
            t = stamp(at),
            c = stamp(now),
        ));
        due.insert(id, at);
        if values.len() == 500 || i + 1 == count {
            diesel::sql_query(format!(
                "INSERT INTO publish_logs (id, clip_id, platform, social_account_id, status, \
                 schedule_type, scheduled_for, scheduled_window_end, scheduled_by, \
                 requested_for, reason, created_at, updated_at) VALUES {}",
                values.join(", ")
            ))
            .execute(conn)
            .unwrap();
            values.clear();
        }
    }
    due
}
