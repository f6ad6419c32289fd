//! The tick.

use chrono::TimeDelta;
use diesel::RunQueryDsl;
use scheduler_core::RuleSet;
use scheduler_store::{
    create_account, create_clip, get_log, list_events, schedule, tick, EventFilter, EventType,
    Mode, NewAccount, NewClip, OpenOptions, Status,
};
use scheduler_testkit::{insert_logs, Logs, TestDb};
use serde_json::json;

use crate::support::{account_and_clip, at, both_backends, counts, request, wal_pages};

/// A "now" years before any test runs: logs planned from it are due on the host clock passed
/// to SQLite and on PostgreSQL's real clock alike.
fn long_ago() -> chrono::DateTime<chrono::Utc> {
    at("2020-01-01T00:00:00Z")
}

/// The host clock passed to the tick on SQLite (PostgreSQL uses its own).
fn tick_time() -> chrono::DateTime<chrono::Utc> {
    at("2021-01-01T00:00:00Z")
}

both_backends! {
    fn moves_higher_priority_first_and_workers_claim_it_first(db) {
        use scheduler_core::Priority::{High, Low, Normal};
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let (account, clip) = account_and_clip(conn, "UTC");
        let mut ids = std::collections::HashMap::new();
        for (day, priority) in [(1, Low), (2, Normal), (3, Normal), (5, High), (7, High), (8, Low)] {
            let time = format!("2020-01-0{day}T19:00:00Z");
            let new = scheduler_store::NewSchedule { priority, ..request(&account, &clip, Some(&time)) };
            ids.insert(day, schedule(conn, &rules, &new, long_ago()).unwrap().log.id);
        }
        let expected: Vec<String> = [5, 7, 2, 3, 1, 8].iter().map(|d| ids[d].clone()).collect();
        // The dry run says the order the tick takes; batches of two cross the tiers.
        let dry = tick(conn, &rules, 2, true, tick_time()).unwrap();
        assert_eq!(dry.log_ids, expected);
        let outcome = tick(conn, &rules, 2, false, tick_time()).unwrap();
        assert_eq!(outcome.log_ids, expected);
        let filter = EventFilter { event_type: Some(EventType::Enqueued.as_str().into()), ..EventFilter::default() };
        let in_ledger_order: Vec<String> = list_events(conn, &filter).unwrap().into_iter().rev().map(|e| e.entity_id).collect();
        assert_eq!(in_ledger_order, expected);
        // Workers take the pending posts in the same order.
        let request = scheduler_store::ClaimRequest { worker_id: "w".into(), limit: 4, lease_seconds: 300, platforms: Vec::new() };
        let claimed: Vec<String> = scheduler_store::claim(conn, &request, tick_time()).unwrap().into_iter().map(|c| c.log.id).collect();
        assert_eq!(claimed, expected[..4]);
        let claimed: Vec<String> = scheduler_store::claim(conn, &request, tick_time()).unwrap().into_iter().map(|c| c.log.id).collect();
        assert_eq!(claimed, expected[4..]);
    }

    fn moves_due_logs_oldest_first_in_batches(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let (account, clip) = account_and_clip(conn, "UTC");
        let mut due = Vec::new();
        for day in [5, 3, 7, 1, 2, 6, 4] {
            let time = format!("2020-01-0{day}T19:00:00Z");
            let done = schedule(conn, &rules, &request(&account, &clip, Some(&time)), long_ago()).unwrap();
            due.push((time, done.log.id));
        }
        let future = schedule(conn, &rules, &request(&account, &clip, Some("2099-01-01T19:00:00Z")), long_ago());
        // More than the horizon away from "now" is still a valid request time.
        let future = future.unwrap().log.id;
        let cancelled = schedule(conn, &rules, &request(&account, &clip, Some("2020-01-08T19:00:00Z")), long_ago()).unwrap();
        scheduler_store::cancel(conn, &cancelled.log.id, long_ago()).unwrap();
        due.sort();
        let expected: Vec<String> = due.iter().map(|(_, id)| id.clone()).collect();

        let before = counts(conn);
        let dry = tick(conn, &RuleSet::default(), 3, true, tick_time()).unwrap();
        assert!(dry.dry_run);
        assert_eq!((dry.moved, &dry.log_ids), (7, &expected));
        assert_eq!(counts(conn), before, "a dry run wrote rows");

        let outcome = tick(conn, &RuleSet::default(), 3, false, tick_time()).unwrap();
        assert!(!outcome.dry_run);
        assert_eq!((outcome.moved, &outcome.log_ids), (7, &expected));
        for id in &expected {
            assert_eq!(get_log(conn, id).unwrap().status, Status::Pending);
        }
        assert_eq!(get_log(conn, &future).unwrap().status, Status::Scheduled);
        assert_eq!(get_log(conn, &cancelled.log.id).unwrap().status, Status::Cancelled);

        let filter = EventFilter { event_type: Some(EventType::Enqueued.as_str().into()), ..EventFilter::default() };
        let events = list_events(conn, &filter).unwrap();
        // Newest first: the ledger holds the events in the order the logs moved, oldest due
        // first, within each batch too.
        let in_ledger_order: Vec<&String> = events.iter().rev().map(|e| &e.entity_id).collect();
        assert_eq!(in_ledger_order, expected.iter().collect::<Vec<_>>());
        let first = events.iter().find(|e| e.entity_id == expected[0]).unwrap();
        let enqueued_at = first.metadata["enqueued_at"].as_str().unwrap().to_owned();
        assert_eq!(
            first.metadata,
            json!({
                "clip_id": clip.id,
                "platform": "instagram",
                "social_account_id": account.id,
                "scheduled_for": "2020-01-01T19:00:00Z",
                "enqueued_at": enqueued_at,
            })
        );
        assert_eq!(at(&enqueued_at), first.created_at);
        assert_eq!(get_log(conn, &expected[0]).unwrap().updated_at, first.created_at);
        // As stored, too: SQLite compares times as text, so the ledger must write them as every
        // other `TIMESTAMP` is written.
        assert_eq!(
            stored_text(
                conn,
                "SELECT CAST(created_at AS TEXT) AS text FROM ledger_events \
                 WHERE entity_id = $1 AND event_type = 'publish_scheduled_enqueued'",
                &expected[0],
            ),
            stored_text(
                conn,
                "SELECT CAST(updated_at AS TEXT) AS text FROM publish_logs WHERE id = $1",
                &expected[0],
            ),
        );
        if !db.is_postgres() {
            assert_eq!(first.created_at, tick_time());
        }

        let again = tick(conn, &RuleSet::default(), 3, false, tick_time()).unwrap();
        assert_eq!((again.moved, again.log_ids.len()), (0, 0));
    }

    fn a_time_past_the_supported_years_is_never_due(db) {
        // Stored by another tool, or by a version before the years were enforced. SQLite
        // compares stored times as text, where `+10000-…` sorts before every other time.
        let conn = &mut db.conn();
        let (account, clip) = account_and_clip(conn, "UTC");
        let far = if db.is_postgres() { "10000-01-01 04:00:00" } else { "+10000-01-01 04:00:00" };
        diesel::sql_query(format!(
            "INSERT INTO publish_logs (id, clip_id, platform, social_account_id, status, \
               schedule_type, scheduled_for, scheduled_by, created_at, updated_at) \
             VALUES ('log_far', '{}', 'instagram', '{}', 'scheduled', 'scheduled', \
               '{far}', 'manual', '2019-12-01 00:00:00', '2019-12-01 00:00:00')",
            clip.id, account.id
        ))
        .execute(conn)
        .unwrap();
        assert_eq!(tick(conn, &RuleSet::default(), 500, true, tick_time()).unwrap().moved, 0);
        assert_eq!(tick(conn, &RuleSet::default(), 500, false, tick_time()).unwrap().moved, 0);
        assert_eq!(get_log(conn, "log_far").unwrap().status, Status::Scheduled);
    }

    fn enqueues_logs_written_by_other_tools_with_the_same_metadata(db) {
        // A log another tool wrote with a fraction of a second, on an account and a clip whose
        // ids need escaping in JSON: its event has the metadata, to the byte, that the store
        // writes everywhere (whole seconds in UTC, serde's JSON).
        use diesel::prelude::*;
        use diesel::sql_types::Text;
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let account = NewAccount { id: Some("acc\"quoted\"\\é".into()), platform: "instagram".into(), ..NewAccount::default() };
        let account = create_account(conn, &rules, &account, long_ago()).unwrap();
        let clip = create_clip(conn, &NewClip { id: Some("clip/ü".into()), ..NewClip::default() }, long_ago()).unwrap();
        diesel::sql_query(
            "INSERT INTO publish_logs (id, clip_id, platform, social_account_id, status, \
               schedule_type, scheduled_for, scheduled_by, created_at, updated_at) \
             VALUES ('log_other_tool', $1, 'instagram', $2, 'scheduled', 'scheduled', \
               '2020-01-02 19:00:00.5', 'manual', '2019-12-01 00:00:00', '2019-12-01 00:00:00')",
        )
        .bind::<Text, _>(&clip.id)
        .bind::<Text, _>(&account.id)
        .execute(conn)
        .unwrap();

        let outcome = tick(conn, &RuleSet::default(), 500, false, tick_time()).unwrap();
        assert_eq!(outcome.log_ids, ["log_other_tool"]);
        let event = &list_events(conn, &EventFilter::default()).unwrap()[0];
        let enqueued_at = scheduler_core::rfc3339(event.created_at);
        assert_eq!(
            stored_text(conn, "SELECT metadata AS text FROM ledger_events WHERE entity_id = $1", "log_other_tool"),
            format!(
                "{{\"clip_id\":\"clip/ü\",\"enqueued_at\":\"{enqueued_at}\",\"platform\":\"instagram\",\
                 \"scheduled_for\":\"2020-01-02T19:00:00Z\",\
                 \"social_account_id\":\"acc\\\"quoted\\\"\\\\é\"}}"
            )
        );
    }

    fn breaks_ties_in_due_time_by_id(db) {
        // Three logs due at the same second, written in another order than their ids: they
        // move, and their events enter the ledger, by id, across batches too.
        use diesel::prelude::*;
        use diesel::sql_types::Text;
        let conn = &mut db.conn();
        let (account, clip) = account_and_clip(conn, "UTC");
        for id in ["log_c", "log_a", "log_b"] {
            diesel::sql_query(
                "INSERT INTO publish_logs (id, clip_id, platform, social_account_id, status, \
                   schedule_type, scheduled_for, scheduled_by, created_at, updated_at) \
                 VALUES ($1, $2, 'instagram', $3, 'scheduled', 'scheduled', \
                   '2020-01-02 19:00:00', 'manual', '2019-12-01 00:00:00', '2019-12-01 00:00:00')",
            )
            .bind::<Text, _>(id)
            .bind::<Text, _>(&clip.id)
            .bind::<Text, _>(&account.id)
            .execute(conn)
            .unwrap();
        }
        let dry = tick(conn, &RuleSet::default(), 2, true, tick_time()).unwrap();
        assert_eq!(dry.log_ids, ["log_a", "log_b", "log_c"]);
        let outcome = tick(conn, &RuleSet::default(), 2, false, tick_time()).unwrap();
        assert_eq!(outcome.log_ids, ["log_a", "log_b", "log_c"]);
        let events = list_events(conn, &EventFilter::default()).unwrap();
        let in_ledger_order: Vec<&str> = events.iter().rev().map(|e| e.entity_id.as_str()).collect();
        assert_eq!(in_ledger_order, ["log_a", "log_b", "log_c"]);
    }

    fn postgres_uses_its_own_clock(db) {
        // The host clock says 2019, before every log; only PostgreSQL ignores it.
        let conn = &mut db.conn();
        let (account, clip) = account_and_clip(conn, "UTC");
        let req = request(&account, &clip, Some("2020-01-01T19:00:00Z"));
        schedule(conn, &RuleSet::default(), &req, long_ago()).unwrap();
        let outcome = tick(conn, &RuleSet::default(), 500, false, at("2019-01-01T00:00:00Z")).unwrap();
        assert_eq!(outcome.moved, usize::from(db.is_postgres()));
    }
}

/// The one time `query` selects (with `$1` bound to `value`), as the database holds it, in text.
fn stored_text(conn: &mut scheduler_store::Conn, query: &str, value: &str) -> String {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Text {
        #[diesel(sql_type = diesel::sql_types::Text)]
        text: String,
    }
    diesel::sql_query(query)
        .bind::<diesel::sql_types::Text, _>(value)
        .get_result::<Text>(conn)
        .unwrap()
        .text
}

/// SQLite: a long tick through `Db::tick` (the `Db`'s checkpoint step between batches) lets the
/// WAL start over while it runs instead of growing by every batch until it ends.
#[test]
fn sqlite_wal_starts_over_during_a_long_tick() {
    use diesel::connection::SimpleConnection;

    let restart = 1_000;
    // One pool on the file: another pool's checkpoint thread would compete for the lock.
    let test = TestDb::sqlite();
    let db = test.open(&OpenOptions {
        mode: Mode::Migrate,
        wal_restart_pages: restart,
        ..OpenOptions::default()
    });
    let mut writer = db.writer().unwrap();
    let conn = &mut writer;
    let (account, clip) = account_and_clip(conn, "UTC");
    let logs = 40_000;
    insert_logs(
        conn,
        &Logs {
            account: &account.id,
            clip: &clip.id,
            count: logs,
            first_due: at("2020-01-01T00:00:00Z"),
            step: TimeDelta::seconds(1),
            created_at: at("2019-12-01T00:00:00Z"),
            with_events: false,
            random_ids: true,
        },
    );
    conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    drop(writer);

    let outcome = db
        .tick_blocking(&RuleSet::default(), 100, false, tick_time())
        .unwrap();
    assert_eq!(outcome.moved, logs);
    // Never started over, it holds about 41,000 pages. A start-over can be missed when the
    // background thread's round and the tick's next transaction meet, and on a loaded machine
    // (this test beside the others on 2 cores) the thread's rounds come late: runs there
    // reached 10,052 to 12,740 pages, a WAL file's largest size. So the bound is half the size
    // that never starting over gives.
    let wal_pages = wal_pages(&test.url);
    assert!(
        wal_pages < 20 * u64::from(restart),
        "the WAL grew to {wal_pages} pages over a tick of {logs} logs: it seldom or never \
         started over"
    );
}

both_backends! {
    fn a_dry_run_pages_through_posts_due_at_the_same_second(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        // Five accounts with a post at the same instant, one more a second later: the dry run's
        // pages of two break inside the tie, and it still lists each once, in the tick's order.
        let mut due = Vec::new();
        for _ in 0..5 {
            let (account, clip) = account_and_clip(conn, "UTC");
            let done = schedule(conn, &rules, &request(&account, &clip, Some("2020-01-05T19:00:00Z")), long_ago()).unwrap();
            due.push(("2020-01-05T19:00:00Z", done.log.id));
        }
        let (account, clip) = account_and_clip(conn, "UTC");
        let later = schedule(conn, &rules, &request(&account, &clip, Some("2020-01-05T19:00:01Z")), long_ago()).unwrap();
        due.push(("2020-01-05T19:00:01Z", later.log.id));
        due.sort();
        let expected: Vec<String> = due.into_iter().map(|(_, id)| id).collect();
        let dry = tick(conn, &rules, 2, true, tick_time()).unwrap();
        assert_eq!(dry.log_ids, expected);
        let outcome = tick(conn, &rules, 2, false, tick_time()).unwrap();
        assert_eq!(outcome.log_ids, expected);
    }
}
