//! The tick's series making at scale: 10,000 series (2,500 accounts with four each, at 18:00,
//! 19:00, 20:00 and 21:00 UTC on Instagram) whose occurrences have not been made, filled to
//! the default 14-day horizon by one tick (the first fill), then a tick with nothing new to
//! make (the idle tick), on SQLite and (with `TEST_DATABASE_URL`) PostgreSQL.
//!
//! Two rules: `FREQ=WEEKLY;BYDAY=MO,TH` (4 occurrences each in 14 days: 40,000 logs) and
//! `FREQ=DAILY` (14 each: 140,000 logs). The series rows are written straight into the table as
//! `create_series` writes them (a series made with its occurrences beyond the horizon); each
//! round starts from empty tables. The tick runs as the programs run it (`Db::tick_blocking`,
//! 500 series per transaction).
//!
//! `TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo run --release -p scheduler-store --example series_bench`
//!
//! Optional arguments: the number of accounts (default 2500), rounds (default 3), one backend
//! to run alone (`sqlite` or `postgres`).

#[path = "../benches/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use scheduler_core::{local_text, rfc5545_instant, RuleSet, Zone};
use scheduler_store::schema::{publish_series, social_accounts};
use scheduler_store::{create_clip, Conn, NewClip};

const CLIP: &str = "clip_series_bench";
const SERIES_PER_ACCOUNT: u32 = 4;

fn main() {
    let mut args = std::env::args().skip(1);
    let accounts: u32 = args.next().map_or(2_500, |a| a.parse().unwrap());
    let rounds: usize = args.next().map_or(3, |a| a.parse().unwrap());
    let only = args.next();
    let rules = RuleSet::default();
    println!(
        "{} series on {accounts} accounts, horizon {} days, {rounds} rounds\n",
        accounts * SERIES_PER_ACCOUNT,
        rules.series_horizon().days()
    );
    println!("| backend | rule | round | logs made | first fill | idle tick |");
    println!("|---|---|---:|---:|---:|---:|");
    for db in support::databases() {
        if only
            .as_deref()
            .is_some_and(|only| only != db.backend.to_string())
        {
            continue;
        }
        let mut conn = db.conn();
        setup(&mut conn, accounts);
        for rule in ["FREQ=WEEKLY;BYDAY=MO,TH", "FREQ=DAILY"] {
            let (mut fills, mut idles) = (Vec::new(), Vec::new());
            for round in 1..=rounds {
                reseed(&mut conn, accounts, rule);
                let started = Instant::now();
                let fill = db
                    .db()
                    .tick_blocking(&rules, 500, false, Utc::now())
                    .unwrap();
                let fill_time = started.elapsed();
                let started = Instant::now();
                let idle = db
                    .db()
                    .tick_blocking(&rules, 500, false, Utc::now())
                    .unwrap();
                let idle_time = started.elapsed();
                assert_eq!(idle.occurrences_made, 0);
                println!(
                    "| {} | `{rule}` | {round} | {} | {} | {} |",
                    db.backend,
                    fill.occurrences_made,
                    ms(fill_time),
                    ms(idle_time)
                );
                fills.push(fill_time);
                idles.push(idle_time);
            }
            println!(
                "| {} | `{rule}` | median | | {} | {} |",
                db.backend,
                ms(median(fills)),
                ms(median(idles))
            );
        }
    }
}

/// The accounts and the clip.
fn setup(conn: &mut Conn, accounts: u32) {
    create_clip(
        conn,
        &NewClip {
            id: Some(CLIP.into()),
            ..NewClip::default()
        },
        Utc::now(),
    )
    .unwrap();
    let now = Utc::now().naive_utc();
    let rows: Vec<_> = (0..accounts)
        .map(|n| {
            (
                social_accounts::id.eq(format!("acc_series_{n}")),
                social_accounts::platform.eq("instagram"),
                social_accounts::timezone.eq("UTC"),
                social_accounts::created_at.eq(now),
            )
        })
        .collect();
    for chunk in rows.chunks(1_000) {
        let insert = diesel::insert_into(social_accounts::table).values(chunk);
        // A multi-row insert runs on the backend's own connection.
        match conn {
            Conn::Pg(c) => insert.execute(c),
            Conn::Sqlite(c) => insert.execute(c),
        }
        .unwrap();
    }
}

/// Empty logs, events and series, then the series: each with its first occurrence tomorrow
/// and nothing made.
fn reseed(conn: &mut Conn, accounts: u32, rule: &str) {
    conn.batch_execute(
        "DELETE FROM publish_logs; DELETE FROM ledger_events; DELETE FROM publish_series;",
    )
    .unwrap();
    let now = Utc::now();
    let tomorrow = (now + TimeDelta::days(1)).date_naive();
    let utc = Zone::parse("UTC").unwrap();
    let mut rows = Vec::new();
    for n in 0..accounts {
        for k in 0..SERIES_PER_ACCOUNT {
            let dtstart = tomorrow.and_hms_opt(18 + k, 0, 0).unwrap();
            rows.push((
                publish_series::id.eq(format!("ser_bench_{n}_{k}")),
                publish_series::clip_id.eq(CLIP),
                publish_series::social_account_id.eq(format!("acc_series_{n}")),
                publish_series::platform.eq("instagram"),
                publish_series::dtstart.eq(local_text(dtstart)),
                publish_series::rrule.eq(rule),
                publish_series::exdates.eq("[]"),
                publish_series::scheduled_by.eq("manual"),
                publish_series::status.eq("active"),
                publish_series::next_occurrence_at
                    .eq(Some(rfc5545_instant(utc, dtstart).naive_utc())),
                publish_series::created_at.eq(now.naive_utc()),
                publish_series::updated_at.eq(now.naive_utc()),
            ));
        }
    }
    for chunk in rows.chunks(1_000) {
        let insert = diesel::insert_into(publish_series::table).values(chunk);
        match conn {
            Conn::Pg(c) => insert.execute(c),
            Conn::Sqlite(c) => insert.execute(c),
        }
        .unwrap();
    }
    if let Conn::Pg(_) = conn {
        conn.batch_execute("VACUUM ANALYZE publish_logs, ledger_events, publish_series")
            .unwrap();
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}
