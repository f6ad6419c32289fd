//! Publish logs written straight into the tables, as another tool (or an earlier day) would
//! have: the store's `schedule` refuses past times and plans one post at a time, so tests of
//! the tick and benchmarks seed their due logs here.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use scheduler_store::Conn;

/// What [`insert_logs`] writes: `count` `scheduled` logs of one clip on one Instagram account,
/// log `i` due at `first_due + i × step`.
#[derive(Debug, Clone)]
pub struct Logs<'a> {
    /// The account (it must exist).
    pub account: &'a str,
    /// The clip (it must exist).
    pub clip: &'a str,
    /// How many.
    pub count: usize,
    /// When the first is due.
    pub first_due: DateTime<Utc>,
    /// How far apart they are due.
    pub step: TimeDelta,
    /// Their `created_at` and `updated_at`.
    pub created_at: DateTime<Utc>,
    /// Whether each gets its `publish_scheduled_created` event, as the API would have written
    /// it (a tick moves them either way).
    pub with_events: bool,
    /// Random ids (`log_<32 hex>`), as when logs fall due in another order than they were made
    /// (their events then land all over the ledger's index by entity), instead of ids in due
    /// order.
    pub random_ids: bool,
}

/// `YYYY-MM-DD HH:MM:SS`, the form both backends read as a UTC timestamp.
pub fn sql_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Inserts an Instagram account and a clip in UTC; returns their ids.
pub fn insert_account_and_clip(conn: &mut Conn) -> (String, String) {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (account, clip) = (format!("acc_{suffix}"), format!("clip_{suffix}"));
    let now = sql_time(Utc::now());
    diesel::sql_query(format!(
        "INSERT INTO social_accounts (id, platform, handle, timezone, created_at) \
         VALUES ('{account}', 'instagram', NULL, 'UTC', '{now}')"
    ))
    .execute(conn)
    .expect("insert an account");
    diesel::sql_query(format!(
        "INSERT INTO clips (id, title, media_url, created_at) VALUES ('{clip}', NULL, NULL, '{now}')"
    ))
    .execute(conn)
    .expect("insert a clip");
    (account, clip)
}

/// Inserts the logs in multi-row `INSERT`s of 500, in one transaction; returns their ids in
/// due order (unless random, `log_<run>_<i>`, so that ties in due time also sort by index).
pub fn insert_logs(conn: &mut Conn, logs: &Logs<'_>) -> Vec<String> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let ids: Vec<String> = (0..logs.count)
        .map(|i| match logs.random_ids {
            true => format!("log_{}", uuid::Uuid::new_v4().simple()),
            false => format!("log_{run}_{i:07}"),
        })
        .collect();
    let created = sql_time(logs.created_at);
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        for (chunk_index, chunk) in ids.chunks(500).enumerate() {
            let mut rows = Vec::with_capacity(chunk.len());
            let mut events = Vec::with_capacity(chunk.len());
            for (j, id) in chunk.iter().enumerate() {
                let i = chunk_index * 500 + j;
                let steps = i32::try_from(i).expect("fewer than 2^31 logs");
                let due = sql_time(logs.first_due + logs.step * steps);
                rows.push(format!(
                    "('{id}', '{clip}', 'instagram', '{account}', 'scheduled', 'scheduled', \
                     '{due}', NULL, 'manual', '{due}', 'Scheduled as requested', '{created}', \
                     '{created}')",
                    clip = logs.clip,
                    account = logs.account,
                ));
                events.push(format!(
                    "('evt_{run}_{i:07}', 'publish_scheduled_created', 'publish_log', '{id}', \
                     '{{}}', '{created}')"
                ));
            }
            diesel::sql_query(format!(
                "INSERT INTO publish_logs (id, clip_id, platform, social_account_id, status, \
                 schedule_type, scheduled_for, scheduled_window_end, scheduled_by, \
                 requested_for, reason, created_at, updated_at) VALUES {}",
                rows.join(", ")
            ))
            .execute(conn)?;
            if logs.with_events {
                diesel::sql_query(format!(
                    "INSERT INTO ledger_events (id, event_type, entity_type, entity_id, \
                     metadata, created_at) VALUES {}",
                    events.join(", ")
                ))
                .execute(conn)?;
            }
        }
        Ok(())
    })
    .expect("insert the logs");
    ids
}

/// `count` logs due a year ago, a second apart, each with its created event, on a new account
/// and clip; their ids, oldest due first.
pub fn insert_due_logs(conn: &mut Conn, count: usize) -> Vec<String> {
    let (account, clip) = insert_account_and_clip(conn);
    let first_due = Utc::now() - TimeDelta::days(365);
    insert_logs(
        conn,
        &Logs {
            account: &account,
            clip: &clip,
            count,
            first_due,
            step: TimeDelta::seconds(1),
            created_at: first_due - TimeDelta::days(1),
            with_events: true,
            random_ids: false,
        },
    )
}
