//! A tick that moves 100,000 due logs, against the hand-written SQL that does the same, on
//! SQLite and (with `TEST_DATABASE_URL`) PostgreSQL, in one run.
//!
//! For each backend and each of 5 rounds: seed 100,000 due logs (`scheduler_testkit::insert_logs`), time
//! `Db::tick` (batches of 500, the `Db`'s checkpoint step between them), as the programs do; seed
//! again, time the hand SQL (one transaction: `UPDATE publish_logs SET status = 'pending' …` then
//! `INSERT INTO ledger_events … SELECT …` with the same event metadata). Prints every round and
//! the medians (of each side, and of the rounds' ratios). Five rounds, because either side
//! alone varies by ±20% from round to round here.
//!
//! The seeded ids are random (`log_<32 hex>`). The store makes time-ordered ids, but the logs due
//! in one tick were made at unrelated times, so their ids land anywhere in the ledger's index by
//! entity id: random is the honest case for the tick's event inserts.
//!
//! `TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo run --release -p scheduler-store --example tick_bench`
//!
//! Optional arguments: the number of logs (default 100000), the batch size (default 500), one
//! backend to run alone (`sqlite` or `postgres`), and one side to run alone (`store` or `hand`,
//! for a profiler: the other side then prints as 0 ms, and the ratios mean nothing).

#[path = "../benches/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use scheduler_store::schema::{ledger_events, publish_logs};
use scheduler_store::{create_account, create_clip, Conn, NewAccount, NewClip};
use scheduler_testkit::{insert_logs, Logs};

const ROUNDS: usize = 5;
const ACCOUNT: &str = "acc_tick_bench";
const CLIP: &str = "clip_tick_bench";

/// The host clock passed to the tick on SQLite (PostgreSQL uses its own `now()`).
fn host_now() -> DateTime<Utc> {
    "2021-01-01T00:00:00Z".parse().unwrap()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let logs: usize = args.next().map_or(100_000, |a| a.parse().unwrap());
    let batch: u32 = args.next().map_or(500, |a| a.parse().unwrap());
    let only = args.next();
    let side = args.next();
    let runs = |name: &str| side.as_deref().is_none_or(|side| side == name);
    println!("{logs} due logs, store batches of {batch}, {ROUNDS} rounds\n");
    println!("| backend | round | store tick | hand SQL | ratio |");
    println!("|---|---:|---:|---:|---:|");
    let mut summary = Vec::new();
    for db in support::databases() {
        if only
            .as_deref()
            .is_some_and(|only| only != db.backend.to_string())
        {
            continue;
        }
        let mut conn = db.conn();
        setup(&mut conn);
        let (mut store, mut hand, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 1..=ROUNDS {
            let (mut store_time, mut store_sample) = (Duration::ZERO, String::new());
            if runs("store") {
                reseed(&mut conn, logs);
                let started = Instant::now();
                // As the programs call it: the WAL may start over between batches.
                let outcome = db
                    .db()
                    .tick_blocking(
                        &scheduler_core::RuleSet::default(),
                        batch,
                        false,
                        host_now(),
                    )
                    .unwrap();
                store_time = started.elapsed();
                assert_eq!(outcome.moved, logs);
                store_sample = check(&mut conn, logs);
            }
            let (mut hand_time, mut hand_sample) = (Duration::ZERO, String::new());
            if runs("hand") {
                reseed(&mut conn, logs);
                let started = Instant::now();
                hand_sql(&mut conn);
                hand_time = started.elapsed();
                hand_sample = check(&mut conn, logs);
            }
            if round == 1 {
                eprintln!("{} store event: {store_sample}", db.backend);
                eprintln!("{} hand  event: {hand_sample}", db.backend);
            }
            let ratio = store_time.as_secs_f64() / hand_time.as_secs_f64();
            println!(
                "| {} | {round} | {} | {} | {ratio:.2}× |",
                db.backend,
                ms(store_time),
                ms(hand_time),
            );
            store.push(store_time);
            hand.push(hand_time);
            ratios.push(ratio);
        }
        summary.push((db.backend, median(store), median(hand), median(ratios)));
    }
    // Both statistics: the ratio of the medians, and the median of each round's ratio (a round
    // times both sides within seconds of each other, when the machine's speed is the same).
    println!(
        "\n| backend | store tick (median) | hand SQL (median) | ratio of medians | median ratio |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (backend, store, hand, ratio) in summary {
        println!(
            "| {backend} | {} | {} | {:.2}× | {ratio:.2}× |",
            ms(store),
            ms(hand),
            store.as_secs_f64() / hand.as_secs_f64()
        );
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

fn median<T: PartialOrd + Copy>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

fn setup(conn: &mut Conn) {
    let rules = scheduler_core::RuleSet::default();
    let account = NewAccount {
        id: Some(ACCOUNT.into()),
        platform: "instagram".into(),
        ..NewAccount::default()
    };
    create_account(conn, &rules, &account, host_now()).unwrap();
    let clip = NewClip {
        id: Some(CLIP.into()),
        ..NewClip::default()
    };
    create_clip(conn, &clip, host_now()).unwrap();
}

/// Empties the logs and events and writes `logs` due logs, one second apart in 2020, with
/// random ids; then leaves the database settled (SQLite: WAL checkpointed; PostgreSQL:
/// vacuumed and analysed).
fn reseed(conn: &mut Conn, logs: usize) {
    let empty = match conn {
        Conn::Sqlite(_) => "DELETE FROM ledger_events; DELETE FROM publish_logs;",
        Conn::Pg(_) => "TRUNCATE ledger_events, publish_logs;",
    };
    conn.batch_execute(empty).unwrap();
    insert_logs(
        conn,
        &Logs {
            account: ACCOUNT,
            clip: CLIP,
            count: logs,
            first_due: "2020-01-01T00:00:00Z".parse().unwrap(),
            step: TimeDelta::seconds(1),
            created_at: "2019-12-01T00:00:00Z".parse().unwrap(),
            with_events: false,
            random_ids: true,
        },
    );
    let settle: &[&str] = match conn {
        Conn::Sqlite(_) => &["PRAGMA wal_checkpoint(TRUNCATE)"],
        // One statement each: VACUUM cannot run in the implicit transaction of a batch.
        Conn::Pg(_) => &[
            "VACUUM ANALYZE publish_logs",
            "VACUUM ANALYZE ledger_events",
            "CHECKPOINT",
        ],
    };
    for statement in settle {
        conn.batch_execute(statement).unwrap();
    }
}

/// The equivalent of the tick in two statements in one transaction: move every due log, then
/// write one `publish_scheduled_enqueued` event per moved log with the store's metadata. Never
/// inlined, so that a profiler can count it alone (`--toggle-collect='*hand_sql*'`).
#[inline(never)]
fn hand_sql(conn: &mut Conn) {
    match conn {
        Conn::Sqlite(c) => {
            let now = host_now().naive_utc().to_string();
            let now_rfc = scheduler_core::rfc3339(host_now());
            c.batch_execute(&format!(
                "BEGIN IMMEDIATE; \
                 UPDATE publish_logs SET status = 'pending', updated_at = '{now}' \
                   WHERE status = 'scheduled' AND scheduled_for <= '{now}'; \
                 INSERT INTO ledger_events (id, event_type, entity_type, entity_id, metadata, created_at) \
                   SELECT 'evt_' || lower(hex(randomblob(16))), 'publish_scheduled_enqueued', \
                     'publish_log', id, \
                     json_object('clip_id', clip_id, 'enqueued_at', '{now_rfc}', \
                       'platform', platform, 'scheduled_for', \
                       strftime('%Y-%m-%dT%H:%M:%SZ', scheduled_for), \
                       'social_account_id', social_account_id), \
                     '{now}' \
                   FROM publish_logs \
                   WHERE status = 'pending' AND updated_at = '{now}' AND scheduled_for <= '{now}' \
                   ORDER BY scheduled_for, id; \
                 COMMIT;"
            ))
            .unwrap();
        }
        Conn::Pg(c) => {
            // `now()` is the transaction's start, the same in both statements.
            c.batch_execute(
                "BEGIN; \
                 UPDATE publish_logs SET status = 'pending', updated_at = date_trunc('second', now()) \
                   WHERE status = 'scheduled' AND scheduled_for <= date_trunc('second', now()); \
                 INSERT INTO ledger_events (id, event_type, entity_type, entity_id, metadata, created_at) \
                   SELECT 'evt_' || replace(gen_random_uuid()::text, '-', ''), \
                     'publish_scheduled_enqueued', 'publish_log', id, \
                     json_build_object('clip_id', clip_id, \
                       'enqueued_at', to_char(date_trunc('second', now()) AT TIME ZONE 'UTC', \
                         'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), \
                       'platform', platform, \
                       'scheduled_for', to_char(scheduled_for AT TIME ZONE 'UTC', \
                         'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), \
                       'social_account_id', social_account_id)::text, \
                     date_trunc('second', now()) \
                   FROM publish_logs \
                   WHERE status = 'pending' AND updated_at = date_trunc('second', now()) \
                   ORDER BY scheduled_for, id; \
                 COMMIT;",
            )
            .unwrap();
        }
    }
}

#[derive(QueryableByName)]
struct Metadata {
    #[diesel(sql_type = Text)]
    metadata: String,
}

/// Checks that every log moved with one event; returns the first log's event metadata.
fn check(conn: &mut Conn, logs: usize) -> String {
    let pending: i64 = publish_logs::table
        .filter(publish_logs::status.eq("pending"))
        .count()
        .get_result(conn)
        .unwrap();
    let events: i64 = ledger_events::table
        .filter(ledger_events::event_type.eq("publish_scheduled_enqueued"))
        .count()
        .get_result(conn)
        .unwrap();
    let expected = i64::try_from(logs).unwrap();
    assert_eq!((pending, events), (expected, expected));
    diesel::sql_query(
        "SELECT e.metadata FROM ledger_events e JOIN publish_logs l ON l.id = e.entity_id \
         ORDER BY l.scheduled_for LIMIT 1",
    )
    .get_result::<Metadata>(conn)
    .unwrap()
    .metadata
}
