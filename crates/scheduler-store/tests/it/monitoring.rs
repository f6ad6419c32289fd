//! The seed's monitoring queries, unchanged, in a PostgreSQL session in another time zone.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamptz};
use scheduler_core::RuleSet;
use scheduler_store::{schedule, tick};

use scheduler_testkit::TestDb;

use crate::support::{account_and_clip, at, request};

#[derive(QueryableByName, Debug, PartialEq)]
struct Pending {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    clip_id: String,
    #[diesel(sql_type = Text)]
    platform: String,
    #[diesel(sql_type = Timestamptz)]
    scheduled_for: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    status: String,
}

#[derive(QueryableByName)]
struct Enqueued {
    #[diesel(sql_type = BigInt)]
    enqueued_today: i64,
}

const PENDING_LOGS: &str = "SELECT id, clip_id, platform, scheduled_for, status
FROM publish_logs
WHERE schedule_type = 'scheduled'
  AND status = 'scheduled'
  AND scheduled_for > NOW()
ORDER BY scheduled_for ASC;";

const ENQUEUED_TODAY: &str = "SELECT COUNT(*) as enqueued_today
FROM ledger_events
WHERE event_type = 'publish_scheduled_enqueued'
  AND DATE(created_at) = CURRENT_DATE;";

#[test]
fn seed_monitoring_queries_in_new_york() {
    let Some(db) = TestDb::postgres() else { return };
    let rules = RuleSet::default();
    let conn = &mut db.conn();
    let (account, clip) = account_and_clip(conn, "UTC");
    let due = schedule(
        conn,
        &rules,
        &request(&account, &clip, Some("2020-01-01T19:00:00Z")),
        at("2020-01-01T00:00:00Z"),
    )
    .unwrap();
    let far = schedule(
        conn,
        &rules,
        &request(&account, &clip, Some("2099-01-15T19:00:00Z")),
        Utc::now(),
    )
    .unwrap();
    // The next free slot from a day ahead: surely still in the future when the queries run.
    let tomorrow = Utc::now() + TimeDelta::days(1);
    let next = schedule(conn, &rules, &request(&account, &clip, None), tomorrow).unwrap();
    let moved = tick(conn, &RuleSet::default(), 500, false, Utc::now())
        .unwrap()
        .log_ids;
    assert_eq!(moved, [due.log.id.as_str()]);

    let mut session = PgConnection::establish(&db.url).unwrap();
    session
        .batch_execute("SET TIME ZONE 'America/New_York'")
        .unwrap();

    let pending: Vec<Pending> = diesel::sql_query(PENDING_LOGS).load(&mut session).unwrap();
    let expected: Vec<Pending> = [&next.log, &far.log]
        .into_iter()
        .map(|log| Pending {
            id: log.id.clone(),
            clip_id: clip.id.clone(),
            platform: "instagram".into(),
            scheduled_for: log.scheduled_for.unwrap(),
            status: "scheduled".into(),
        })
        .collect();
    assert_eq!(pending, expected);
    assert_eq!(pending[1].scheduled_for, at("2099-01-15T19:00:00Z"));

    let enqueued: Enqueued = diesel::sql_query(ENQUEUED_TODAY)
        .get_result(&mut session)
        .unwrap();
    assert_eq!(enqueued.enqueued_today, 1);
}
