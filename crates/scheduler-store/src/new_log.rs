//! Writing a new scheduled log and its ledger events, on each backend the way it costs least.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use scheduler_core::{Plan, Platform, Priority};

use crate::account_lock::pg;
use crate::conn::{on_backend, Conn};
use crate::error::Result;
use crate::events::{insert_events, NewEvent};
use crate::models::{PublishLog, ScheduledBy, Status, SCHEDULE_TYPE_SCHEDULED};
use crate::schema::publish_logs;

/// A new scheduled log's columns.
pub(crate) struct LogRow<'a> {
    pub(crate) id: &'a str,
    pub(crate) clip_id: &'a str,
    pub(crate) platform: &'a Platform,
    pub(crate) social_account_id: &'a str,
    pub(crate) plan: &'a Plan,
    pub(crate) scheduled_by: ScheduledBy,
    pub(crate) now: DateTime<Utc>,
    pub(crate) priority: Priority,
    pub(crate) window_end_given: bool,
}

impl LogRow<'_> {
    /// The log as the database stores it: these columns, and every other at its default.
    pub(crate) fn stored(&self) -> PublishLog {
        PublishLog {
            id: self.id.to_owned(),
            clip_id: self.clip_id.to_owned(),
            platform: self.platform.clone(),
            social_account_id: self.social_account_id.to_owned(),
            status: Status::Scheduled,
            schedule_type: SCHEDULE_TYPE_SCHEDULED.to_owned(),
            scheduled_for: Some(self.plan.scheduled_for),
            scheduled_window_end: Some(self.plan.scheduled_window_end),
            scheduled_by: self.scheduled_by,
            requested_for: Some(self.plan.requested_for),
            reason: Some(self.plan.reason.clone()),
            created_at: self.now,
            updated_at: self.now,
            attempt: 0,
            lease_expires_at: None,
            leased_by: None,
            platform_post_id: None,
            permalink: None,
            last_error: None,
            series_id: None,
            occurrence: None,
            priority: self.priority,
            engagement: None,
        }
    }
}

/// A call of the PostgreSQL function `$f` with the `$prefix` arguments, then a new log's columns
/// and its events' (`schedule_insert`'s arguments, in its order), so that every function that
/// inserts a log takes them alike.
macro_rules! with_log_and_events {
    ($f:path, $row:expr, $events:expr $(, $prefix:expr)*) => {{
        let (row, plan, columns) = ($row, $row.plan, EventColumns::of($events));
        $f(
            $($prefix,)*
            row.id,
            row.clip_id,
            row.platform.as_str(),
            row.social_account_id,
            plan.scheduled_for.naive_utc(),
            plan.scheduled_window_end.naive_utc(),
            row.scheduled_by.as_str(),
            plan.requested_for.naive_utc(),
            &plan.reason,
            row.now.naive_utc(),
            row.priority.rank(),
            row.window_end_given,
            columns.ids,
            columns.types,
            columns.entity_types,
            columns.entity_ids,
            columns.metadata,
            columns.created_at,
        )
    }};
}

/// Inserts a scheduled log and its events; the log as stored. PostgreSQL: one statement (the
/// migrations' `schedule_insert`, kept prepared), a round trip fewer on every schedule; the
/// log is the row it wrote, its other columns at their defaults
/// (`schedule_returns_the_log_as_stored` checks that both backends answer the same). SQLite,
/// where a statement costs no round trip: the log's `INSERT … RETURNING`, kept prepared, then
/// the events'.
pub(crate) fn insert_log(
    conn: &mut Conn,
    row: &LogRow<'_>,
    events: &[NewEvent],
) -> Result<PublishLog> {
    let plan = row.plan;
    if let Conn::Pg(c) = conn {
        diesel::select(with_log_and_events!(pg::schedule_insert, row, events)).execute(c)?;
        return Ok(row.stored());
    }
    // Column values, not a derived `Insertable`, so that diesel keeps the statement prepared
    // (see `events::insert_events`).
    use crate::schema::publish_logs::dsl as p;
    let insert = diesel::insert_into(publish_logs::table).values((
        p::id.eq(row.id),
        p::clip_id.eq(row.clip_id),
        p::platform.eq(row.platform.as_str()),
        p::social_account_id.eq(row.social_account_id),
        p::status.eq(Status::Scheduled.as_str()),
        p::schedule_type.eq(SCHEDULE_TYPE_SCHEDULED),
        p::scheduled_for.eq(plan.scheduled_for.naive_utc()),
        p::scheduled_window_end.eq(plan.scheduled_window_end.naive_utc()),
        p::scheduled_by.eq(row.scheduled_by.as_str()),
        p::requested_for.eq(plan.requested_for.naive_utc()),
        p::reason.eq(&plan.reason),
        p::created_at.eq(row.now.naive_utc()),
        p::updated_at.eq(row.now.naive_utc()),
        p::priority.eq(row.priority.rank()),
        p::window_end_given.eq(row.window_end_given),
    ));
    let log: PublishLog = on_backend!(conn, |c| insert
        .returning(PublishLog::as_returning())
        .get_result(c))?;
    insert_events(conn, events)?;
    Ok(log)
}

/// PostgreSQL, in one statement that is its own transaction when the caller has none (the
/// migrations' `schedule_commit`): takes the account's lock and reads its posts in `span` again;
/// if they are `planned_among` (sorted), inserts the log and its events as [`insert_log`] does
/// and answers `None`, else writes nothing and answers the posts, sorted.
pub(crate) fn insert_log_if_posts(
    c: &mut diesel::PgConnection,
    row: &LogRow<'_>,
    events: &[NewEvent],
    (from, until): (DateTime<Utc>, DateTime<Utc>),
    planned_among: &[DateTime<Utc>],
) -> Result<Option<Vec<DateTime<Utc>>>> {
    let planned_among: Vec<NaiveDateTime> = planned_among.iter().map(|t| t.naive_utc()).collect();
    let posts: Option<Vec<NaiveDateTime>> = diesel::select(with_log_and_events!(
        pg::schedule_commit,
        row,
        events,
        from.naive_utc(),
        until.naive_utc(),
        planned_among
    ))
    .get_result(c)?;
    Ok(posts.map(|posts| posts.into_iter().map(|t| t.and_utc()).collect()))
}

/// Events as one array per column, for the PostgreSQL functions that insert them.
struct EventColumns<'a> {
    ids: Vec<&'a str>,
    types: Vec<&'a str>,
    entity_types: Vec<&'a str>,
    entity_ids: Vec<&'a str>,
    metadata: Vec<&'a str>,
    created_at: Vec<NaiveDateTime>,
}

impl<'a> EventColumns<'a> {
    fn of(events: &'a [NewEvent]) -> Self {
        let column = |f: fn(&'a NewEvent) -> &'a str| events.iter().map(f).collect();
        EventColumns {
            ids: column(|e| &e.id),
            types: column(|e| e.event_type),
            entity_types: column(|e| e.entity_type),
            entity_ids: column(|e| &e.entity_id),
            metadata: column(|e| &e.metadata),
            created_at: events.iter().map(|e| e.created_at).collect(),
        }
    }
}
