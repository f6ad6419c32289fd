//! The best-time suggestions at scale (contract section 13; the goal is under 20 ms): one
//! Instagram account in New York with 10,000 published posts in the last 90 days (views on a
//! spread of local hours), its platform's history from 50 other accounts with 2,000 each, and
//! 14 posts scheduled in the coming week; then `suggestions` for the week (5 slots) as the
//! api-server calls it, and 100 `schedule`s with `strategy: "best"` within 31 days (each takes
//! the best free slot, so the month fills), on SQLite and (with `TEST_DATABASE_URL`)
//! PostgreSQL.
//!
//! The published posts are written straight into the table, then counted into the history by
//! `recount_engagement`, as the migration that made the history counts older posts.
//!
//! `TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo run --release -p scheduler-store --example suggestions_bench`
//!
//! Optional arguments: the account's published posts (default 10000), suggestion requests
//! (default 500).

#[path = "../benches/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use scheduler_core::RuleSet;
use scheduler_store::engagement::{engagement_tallies, recount_engagement, Engagement};
use scheduler_store::{
    create_account, create_clip, schedule, suggestions, write_transaction, Conn, NewAccount,
    NewClip, NewSchedule, ScheduledBy, Strategy,
};
use scheduler_testkit::sql_time;

const OTHER_ACCOUNTS: usize = 50;
const OTHER_POSTS: usize = 2_000;

fn main() {
    let mut args = std::env::args().skip(1);
    let posts: usize = args.next().map_or(10_000, |a| a.parse().unwrap());
    let requests: usize = args.next().map_or(500, |a| a.parse().unwrap());
    let rules = RuleSet::default();
    println!(
        "one account with {posts} published posts, {OTHER_ACCOUNTS} others with {OTHER_POSTS} each; {requests} requests\n"
    );
    println!("| backend | operation | p50 | p99 | max |");
    println!("|---|---|---:|---:|---:|");
    for db in support::databases() {
        let mut conn = db.conn();
        let now = Utc::now();
        let started = Instant::now();
        let account = setup(&mut conn, &rules, posts, now);
        eprintln!(
            "{}: set up in {:.1} s",
            db.backend,
            started.elapsed().as_secs_f64()
        );
        let week = (now, now + TimeDelta::days(7));

        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests {
            let started = Instant::now();
            let found = suggestions(&mut conn, &rules, &account, None, week, 5, now).unwrap();
            times.push(started.elapsed());
            assert_eq!(found.slots.len(), 5);
        }
        report(
            &db.backend.to_string(),
            "suggestions, a week, 5 slots",
            &mut times,
        );

        // Of which reading the history.
        let found = scheduler_store::get_account(&mut conn, &account).unwrap();
        let since = (now - TimeDelta::days(90)).date_naive();
        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests {
            let started = Instant::now();
            let (own, _) = engagement_tallies(&mut conn, &found, since).unwrap();
            times.push(started.elapsed());
            assert_eq!(own.posts() as usize, posts);
        }
        report(
            &db.backend.to_string(),
            "of which the history (both tallies)",
            &mut times,
        );

        let mut times = Vec::with_capacity(100);
        for _ in 0..100 {
            let request = NewSchedule {
                clip_id: "clip_bench".into(),
                platform: "instagram".into(),
                social_account_id: account.clone(),
                scheduled_for: None,
                scheduled_window_end: None,
                scheduled_by: ScheduledBy::Manual,
                priority: scheduler_core::Priority::Normal,
                strategy: Strategy::Best { within_days: 31 },
            };
            let started = Instant::now();
            schedule(&mut conn, &rules, &request, Utc::now()).unwrap();
            times.push(started.elapsed());
        }
        report(
            &db.backend.to_string(),
            "schedule, `strategy: \"best\"` within 31 days",
            &mut times,
        );
    }
}

/// The account, its history, its platform's, and its week's posts; returns the account's id.
fn setup(conn: &mut Conn, rules: &RuleSet, posts: usize, now: DateTime<Utc>) -> String {
    let new_account = |conn: &mut Conn, zone: &str| {
        let new = NewAccount {
            platform: "instagram".into(),
            timezone: Some(zone.into()),
            ..NewAccount::default()
        };
        create_account(conn, rules, &new, now).unwrap().id
    };
    let clip = NewClip {
        id: Some("clip_bench".into()),
        ..NewClip::default()
    };
    create_clip(conn, &clip, now).unwrap();
    let account = new_account(conn, "America/New_York");
    publish(conn, &account, posts, now, 1);
    for i in 0..OTHER_ACCOUNTS {
        let zone = ["Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles"][i % 3];
        let other = new_account(conn, zone);
        publish(conn, &other, OTHER_POSTS, now, i as u64 + 2);
    }
    write_transaction(conn, recount_engagement).unwrap();
    // Two posts a day in the coming week, planned as clients would.
    for day in 0..7 {
        for hour in [18, 22] {
            let at = (now + TimeDelta::days(day + 1))
                .date_naive()
                .and_hms_opt(hour, 0, 0)
                .unwrap()
                .and_utc();
            let request = NewSchedule {
                clip_id: "clip_bench".into(),
                platform: "instagram".into(),
                social_account_id: account.clone(),
                scheduled_for: Some(at),
                scheduled_window_end: None,
                scheduled_by: ScheduledBy::Manual,
                priority: scheduler_core::Priority::Normal,
                strategy: Strategy::Earliest,
            };
            schedule(conn, rules, &request, now).unwrap();
        }
    }
    account
}

/// `count` published posts of `account` spread over the last 90 days, each at a pseudo-random
/// minute with pseudo-random views (`seed` picks the sequence).
fn publish(conn: &mut Conn, account: &str, count: usize, now: DateTime<Utc>, seed: u64) {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let span = 89 * 24 * 60;
    let created = sql_time(now - TimeDelta::days(91));
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        let ids: Vec<usize> = (0..count).collect();
        for chunk in ids.chunks(500) {
            let rows: Vec<String> = chunk
                .iter()
                .map(|i| {
                    let minutes = (next() % span) as i64;
                    let at = now - TimeDelta::days(90) + TimeDelta::minutes(minutes);
                    let views = next() % 100_000;
                    let figures = Engagement {
                        views: Some(views),
                        likes: Some(views / 20),
                        comments: None,
                        shares: None,
                        measured_at: at + TimeDelta::hours(6),
                    };
                    format!(
                        "('log_{account}_{i:06}', 'clip_bench', 'instagram', '{account}', 'published', \
                         'scheduled', '{at}', NULL, 'manual', '{at}', 'Scheduled as requested', \
                         '{created}', '{created}', '{engagement}')",
                        at = sql_time(at),
                        engagement = figures.to_json(),
                    )
                })
                .collect();
            diesel::sql_query(format!(
                "INSERT INTO publish_logs (id, clip_id, platform, social_account_id, status, \
                 schedule_type, scheduled_for, scheduled_window_end, scheduled_by, requested_for, \
                 reason, created_at, updated_at, engagement) VALUES {}",
                rows.join(", ")
            ))
            .execute(conn)?;
        }
        Ok(())
    })
    .unwrap();
}

fn report(backend: &str, operation: &str, times: &mut [Duration]) {
    times.sort_unstable();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "| {backend} | {operation} | {} | {} | {} |",
        ms(at(0.5)),
        ms(at(0.99)),
        ms(times[times.len() - 1])
    );
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
