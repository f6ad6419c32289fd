//! What calendars show (contract section 11): posts in a time range with their clip's title,
//! their account's zone and how many times their time changed (an iCalendar `SEQUENCE`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use scheduler_core::{Platform, Zone};

use crate::conn::{on_backend, Conn};
use crate::error::{Result, StoreError};
use crate::events::{EventType, ENTITY_PUBLISH_LOG};
use crate::models::{PublishLog, Status, SCHEDULE_TYPE_SCHEDULED};
use crate::schema::{clips, ledger_events, social_accounts};

/// The most posts one calendar answer holds.
pub const MAX_CALENDAR_POSTS: i64 = 10_000;

/// Which posts a calendar shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarFilter {
    /// Only these accounts' posts (empty: every account's).
    pub accounts: Vec<String>,
    /// Only this platform's posts.
    pub platform: Option<Platform>,
    /// Only posts with one of these statuses (empty: every status).
    pub statuses: Vec<Status>,
    /// Posts whose time is at or after this.
    pub from: DateTime<Utc>,
    /// Posts whose time is before this.
    pub to: DateTime<Utc>,
    /// At most this many, the earliest (clamped to [`MAX_CALENDAR_POSTS`]).
    pub limit: i64,
}

/// A post as a calendar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarPost {
    /// The log.
    pub log: PublishLog,
    /// Its clip's title, if it has one.
    pub clip_title: Option<String>,
    /// Its account's zone.
    pub timezone: Zone,
    /// How many times its time was changed after it was made: reschedules, retries, failed
    /// attempts planned again, a person's answer that sent it back. Never goes down.
    pub sequence: u32,
}

/// The events that change a log's time, each one a new `SEQUENCE`.
const TIME_CHANGES: [EventType; 4] = [
    EventType::Rescheduled,
    EventType::Retried,
    EventType::AttemptFailed,
    EventType::Confirmed,
];

/// The posts `filter` selects, by time then id, at most its limit (the earliest).
pub fn calendar_posts(conn: &mut Conn, filter: &CalendarFilter) -> Result<Vec<CalendarPost>> {
    use crate::schema::publish_logs::dsl as p;
    // The condition of the partial index on (scheduled_for, id), as a literal (SQLite uses a
    // partial index only for a query that states its condition): every log this scheduler
    // writes has it.
    let scheduled_type = format!("schedule_type = '{SCHEDULE_TYPE_SCHEDULED}'");
    let mut query = p::publish_logs
        .inner_join(social_accounts::table)
        .inner_join(clips::table)
        .filter(sql::<Bool>(&scheduled_type))
        .filter(p::scheduled_for.ge(filter.from.naive_utc()))
        .filter(p::scheduled_for.lt(filter.to.naive_utc()))
        .into_boxed();
    if !filter.accounts.is_empty() {
        query = query.filter(p::social_account_id.eq_any(&filter.accounts));
    }
    if let Some(platform) = &filter.platform {
        query = query.filter(p::platform.eq(platform.as_str()));
    }
    if !filter.statuses.is_empty() {
        let statuses: Vec<&str> = filter.statuses.iter().map(Status::as_str).collect();
        query = query.filter(p::status.eq_any(statuses));
    }
    let rows: Vec<(PublishLog, String, Option<String>)> = query
        .order((p::scheduled_for.asc(), p::id.asc()))
        .limit(filter.limit.clamp(0, MAX_CALENDAR_POSTS))
        .select((
            PublishLog::as_select(),
            social_accounts::timezone,
            clips::title,
        ))
        .load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|(log, _, _)| log.id.as_str()).collect();
    let mut changes: HashMap<String, i64> = HashMap::new();
    // In pieces: a statement's parameters are bounded (SQLite: 32,766).
    for chunk in ids.chunks(1_000) {
        let counts = ledger_events::table
            .filter(ledger_events::entity_type.eq(ENTITY_PUBLISH_LOG))
            .filter(ledger_events::entity_id.eq_any(chunk))
            .filter(ledger_events::event_type.eq_any(TIME_CHANGES.map(|t| t.as_str())))
            .group_by(ledger_events::entity_id)
            .select((ledger_events::entity_id, diesel::dsl::count_star()));
        let counted: Vec<(String, i64)> = on_backend!(conn, |c| counts.load(c))?;
        changes.extend(counted);
    }
    rows.into_iter()
        .map(|(log, timezone, clip_title)| {
            let timezone = Zone::parse(&timezone).map_err(|_| {
                StoreError::Corrupt(format!(
                    "account {} has the zone {timezone:?}",
                    log.social_account_id
                ))
            })?;
            Ok(CalendarPost {
                sequence: changes
                    .get(&log.id)
                    .map_or(0, |n| u32::try_from(*n).unwrap_or(u32::MAX)),
                log,
                clip_title,
                timezone,
            })
        })
        .collect()
}
