//! Scheduling one post into an empty account and into one that already has 100,000 posts, on
//! SQLite and (with `TEST_DATABASE_URL`) PostgreSQL.
//!
//! The big account's posts lie every two hours (±11 years) around the request, seeded by
//! `scheduler_testkit::insert_logs`. Each iteration schedules one post at 19:00 UTC between the posts at
//! 18:00 and 20:00 (a free slot, so both accounts get the same single log and event) inside a
//! caller-owned write transaction that is then rolled back: the accounts never grow, and every
//! iteration does the same work. Before measuring, the setup prints the query plan of the
//! store's read of nearby posts on each backend.
//!
//! `TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p scheduler-store --bench schedule`

mod support;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use diesel::prelude::*;
use diesel::sql_types::Text;
use scheduler_core::RuleSet;
use scheduler_store::{
    create_account, create_clip, schedule, write_transaction, Conn, NewAccount, NewClip,
    NewSchedule, ScheduledBy, StoreError,
};
use scheduler_testkit::{insert_logs, Logs};

const POSTS: usize = 100_000;
const EMPTY: &str = "acc_bench_empty";
const BIG: &str = "acc_bench_big";
const CLIP: &str = "clip_bench";

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn requested() -> DateTime<Utc> {
    at("2030-06-15T19:00:00Z")
}

fn now() -> DateTime<Utc> {
    at("2030-06-05T00:00:00Z")
}

/// The two accounts, the clip, and `POSTS` posts every two hours centred on 2030-06-15 20:00
/// UTC for the big account.
fn seed(conn: &mut Conn) {
    let rules = RuleSet::default();
    for id in [EMPTY, BIG] {
        let account = NewAccount {
            id: Some(id.into()),
            platform: "instagram".into(),
            ..NewAccount::default()
        };
        create_account(conn, &rules, &account, now()).unwrap();
    }
    let clip = NewClip {
        id: Some(CLIP.into()),
        ..NewClip::default()
    };
    create_clip(conn, &clip, now()).unwrap();
    let half = i32::try_from(POSTS / 2).unwrap();
    let every_two_hours = TimeDelta::hours(2);
    insert_logs(
        conn,
        &Logs {
            account: BIG,
            clip: CLIP,
            count: POSTS,
            first_due: at("2030-06-15T20:00:00Z") - every_two_hours * half,
            step: every_two_hours,
            created_at: now(),
            with_events: false,
            random_ids: false,
        },
    );
    if let Conn::Pg(c) = conn {
        diesel::sql_query("ANALYZE").execute(c).unwrap();
    }
}

/// The plan of the store's read of an account's posts near a time (`post_times` in
/// `src/calendar.rs`, written out in SQL with placeholders): one `UNION ALL` of the posts with
/// a time and those without one. diesel numbers the second half's parameters on; here both
/// halves reuse the same ten, which have the same values. SQLite: `EXPLAIN QUERY PLAN`;
/// PostgreSQL: the generic plan of the prepared statement (the one diesel's cached statements
/// settle on).
fn explain_post_times(conn: &mut Conn) -> Vec<String> {
    let query = |p: &dyn Fn(usize) -> String| {
        let half = |select: &str, time: &str| {
            format!(
                "SELECT {select} FROM publish_logs \
                 WHERE social_account_id = {} AND platform = {} \
                   AND (status = {} OR status = {} OR status = {} OR status = {} \
                        OR status = {}) \
                   AND id != {} AND {time} BETWEEN {} AND {}",
                p(1),
                p(2),
                p(3),
                p(4),
                p(5),
                p(6),
                p(7),
                p(8),
                p(9),
                p(10),
            )
        };
        format!(
            "{} UNION ALL {}",
            half("scheduled_for", "scheduled_for"),
            half("created_at", "scheduled_for IS NULL AND created_at"),
        )
    };
    let mut lines = vec!["-- posts by scheduled_for, then without one by created_at:".to_owned()];
    match conn {
        Conn::Sqlite(c) => {
            #[derive(QueryableByName)]
            struct Row {
                #[diesel(sql_type = Text)]
                detail: String,
            }
            let sql = format!("EXPLAIN QUERY PLAN {}", query(&|i| format!("?{i}")));
            let mut q = diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>();
            for value in binds() {
                q = q.bind::<Text, _>(value);
            }
            lines.extend(q.load::<Row>(c).unwrap().into_iter().map(|r| r.detail));
        }
        Conn::Pg(c) => {
            #[derive(QueryableByName)]
            struct Row {
                #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
                plan: String,
            }
            diesel::sql_query("SET plan_cache_mode = force_generic_plan")
                .execute(c)
                .unwrap();
            diesel::sql_query(format!(
                "PREPARE post_times_plan (text, text, text, text, text, text, text, text, \
                 timestamptz, timestamptz) AS {}",
                query(&|i| format!("${i}"))
            ))
            .execute(c)
            .unwrap();
            let args = binds()
                .iter()
                .map(|v| format!("'{v}'"))
                .collect::<Vec<_>>()
                .join(", ");
            let plan = diesel::sql_query(format!("EXPLAIN EXECUTE post_times_plan ({args})"))
                .load::<Row>(c)
                .unwrap();
            lines.extend(plan.into_iter().map(|r| r.plan));
            diesel::sql_query("DEALLOCATE post_times_plan")
                .execute(c)
                .unwrap();
            diesel::sql_query("RESET plan_cache_mode")
                .execute(c)
                .unwrap();
        }
    }
    lines
}

/// The parameters of the first read `schedule` makes for the big account: the request minus
/// the 60-minute reach and a second, to the request plus two days and the reach.
fn binds() -> Vec<String> {
    [
        BIG,
        "instagram",
        "scheduled",
        "pending",
        "processing",
        "published",
        "unconfirmed",
        "",
        "2030-06-15 17:59:59",
        "2030-06-17 20:00:00",
    ]
    .map(String::from)
    .to_vec()
}

fn request(account: &str) -> NewSchedule {
    NewSchedule {
        clip_id: CLIP.into(),
        platform: "instagram".into(),
        social_account_id: account.into(),
        scheduled_for: Some(requested()),
        scheduled_window_end: None,
        scheduled_by: ScheduledBy::Manual,
        priority: scheduler_core::Priority::Normal,
        strategy: scheduler_store::Strategy::Earliest,
    }
}

/// Schedules one post for `account` and rolls it back; returns its planned time and reason.
fn schedule_rolled_back(
    conn: &mut Conn,
    rules: &RuleSet,
    account: &str,
) -> (DateTime<Utc>, String) {
    let mut planned = None;
    let outcome: Result<(), StoreError> = write_transaction(conn, |conn| {
        let done = schedule(conn, rules, &request(account), now())?;
        planned = Some((done.log.scheduled_for.unwrap(), done.reason));
        Err(StoreError::Internal("roll back".into()))
    });
    match outcome {
        Err(StoreError::Internal(reason)) if reason == "roll back" => planned.unwrap(),
        other => panic!("schedule failed: {other:?}"),
    }
}

fn bench_schedule(c: &mut Criterion) {
    let rules = RuleSet::default();
    let mut group = c.benchmark_group("schedule");
    group.measurement_time(Duration::from_secs(5));
    for db in support::databases() {
        let mut conn = db.conn();
        seed(&mut conn);
        eprintln!("{}: plan of post_times' query:", db.backend);
        for line in explain_post_times(&mut conn) {
            eprintln!("    {line}");
        }
        for (label, account) in [("empty", EMPTY), ("100000_posts", BIG)] {
            let (time, reason) = schedule_rolled_back(&mut conn, &rules, account);
            assert_eq!(time, requested(), "{}/{label}: {reason}", db.backend);
            group.bench_function(BenchmarkId::new(db.backend.to_string(), label), |b| {
                b.iter(|| schedule_rolled_back(&mut conn, &rules, account))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_schedule);
criterion_main!(benches);
