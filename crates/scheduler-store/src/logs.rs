//! Publish logs once they exist: reading them, cancelling and rescheduling them.

use chrono::{DateTime, SubsecRound, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text, Timestamp};
use scheduler_core::{Platform, RuleSet, ScheduleRequest};

use crate::account_lock::lock_accounts;
use crate::accounts::{clip_exists_or, get_account};
use crate::calendar::plan_slot;
use crate::conn::{on_backend, write_transaction, Conn};
use crate::cursor::LogCursor;
use crate::error::{Result, StoreError};
use crate::events::{insert_events, Cancelled, NewEvent, Rescheduled};
use crate::models::{PublishLog, Status, SCHEDULE_TYPE_SCHEDULED};
use crate::schedule::Scheduled;
use crate::schema::publish_logs;
use crate::schema::publish_logs::dsl as p;

/// A new time for a scheduled log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reschedule {
    /// When to publish; `None` is the next free slot from now.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// The latest acceptable slot.
    pub scheduled_window_end: Option<DateTime<Utc>>,
}

/// One log, or [`StoreError::NotFound`].
pub fn get_log(conn: &mut Conn, id: &str) -> Result<PublishLog> {
    let query = publish_logs::table.find(id);
    on_backend!(conn, |c| query
        .select(PublishLog::as_select())
        .get_result(c)
        .optional())?
    .ok_or_else(|| StoreError::not_found("publish log", id))
}

/// Every log of a clip with `schedule_type = 'scheduled'`, whatever its status, by
/// `scheduled_for`. [`StoreError::NotFound`] for an unknown clip.
pub fn list_clip_schedule(conn: &mut Conn, clip_id: &str) -> Result<Vec<PublishLog>> {
    clip_exists_or(conn, clip_id, || StoreError::not_found("clip", clip_id))?;
    Ok(p::publish_logs
        .filter(p::clip_id.eq(clip_id))
        .filter(p::schedule_type.eq(SCHEDULE_TYPE_SCHEDULED))
        .order((p::scheduled_for.asc(), p::created_at.asc(), p::id.asc()))
        .select(PublishLog::as_select())
        .load(conn)?)
}

/// The most logs one [`list_logs`] page holds.
pub const MAX_PAGE: u32 = 500;

/// The logs a [`list_logs`] page holds when no limit is given.
pub const DEFAULT_PAGE: u32 = 100;

/// Which logs [`list_logs`] returns: every filter given must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter {
    /// Only the account's.
    pub social_account_id: Option<String>,
    /// Only the platform's.
    pub platform: Option<Platform>,
    /// Only logs with this status.
    pub status: Option<Status>,
    /// Only logs whose `scheduled_for` is at or after this.
    pub from: Option<DateTime<Utc>>,
    /// Only logs whose `scheduled_for` is before this.
    pub to: Option<DateTime<Utc>>,
    /// Only the occurrences made for this series.
    pub series_id: Option<String>,
    /// Only logs after this position (the `next` of the page before).
    pub after: Option<LogCursor>,
    /// At most this many (clamped to `1..=`[`MAX_PAGE`]).
    pub limit: u32,
}

impl Default for LogFilter {
    /// Every log, [`DEFAULT_PAGE`] at a time.
    fn default() -> Self {
        Self {
            social_account_id: None,
            platform: None,
            status: None,
            from: None,
            to: None,
            series_id: None,
            after: None,
            limit: DEFAULT_PAGE,
        }
    }
}

/// A page of logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    /// By `scheduled_for`, then id.
    pub logs: Vec<PublishLog>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<LogCursor>,
}

/// The scheduled logs that `filter` selects, by `scheduled_for` then id, a page at a time. The
/// order is total and the cursor a position in it, so a reader paging through sees every log
/// whose time did not change meanwhile exactly once.
pub fn list_logs(conn: &mut Conn, filter: &LogFilter) -> Result<LogPage> {
    let limit = filter.limit.clamp(1, MAX_PAGE);
    // The condition of the partial index on (scheduled_for, id), as a literal: SQLite uses a
    // partial index only for a query that says its condition, not a bound parameter.
    let scheduled_type = format!("schedule_type = '{SCHEDULE_TYPE_SCHEDULED}'");
    let mut query = p::publish_logs
        .filter(sql::<Bool>(&scheduled_type))
        .filter(p::scheduled_for.is_not_null())
        .into_boxed();
    if let Some(account) = &filter.social_account_id {
        query = query.filter(p::social_account_id.eq(account));
    }
    if let Some(platform) = &filter.platform {
        query = query.filter(p::platform.eq(platform.as_str()));
    }
    if let Some(status) = filter.status {
        query = query.filter(p::status.eq(status.as_str()));
    }
    if let Some(series) = &filter.series_id {
        query = query.filter(p::series_id.eq(series));
    }
    if let Some(from) = filter.from {
        query = query.filter(p::scheduled_for.ge(from.naive_utc()));
    }
    if let Some(to) = filter.to {
        query = query.filter(p::scheduled_for.lt(to.naive_utc()));
    }
    if let Some(after) = &filter.after {
        // A row comparison: a range of the index on (scheduled_for, id).
        query = query.filter(
            sql::<Bool>("(scheduled_for, id) > (")
                .bind::<Timestamp, _>(after.scheduled_for.naive_utc())
                .sql(", ")
                .bind::<Text, _>(after.id.clone())
                .sql(")"),
        );
    }
    let mut logs: Vec<PublishLog> = query
        .order((p::scheduled_for.asc(), p::id.asc()))
        .limit(i64::from(limit) + 1)
        .select(PublishLog::as_select())
        .load(conn)?;
    let next = if logs.len() > limit as usize {
        logs.truncate(limit as usize);
        logs.last().and_then(LogCursor::after)
    } else {
        None
    };
    Ok(LogPage { logs, next })
}

/// Sets `$changes` (columns of [`p`]) on the log `$id` where `$held` (the log's row as
/// `publish_logs` filtered by id, given more conditions) still holds; the changed log, or
/// `$miss(&log)` for the log as it now is ([`StoreError::NotFound`] when there is none). One
/// conditional `UPDATE … RETURNING`, so the change is atomic against whatever moved the log
/// meanwhile (a tick, a cancel, a report: the tick and the reports take no account lock).
macro_rules! update_log_if {
    ($conn:expr, $id:expr, |$row:ident| $held:expr, $changes:expr, $miss:expr) => {{
        use $crate::schema::publish_logs::dsl as p;
        let (conn, id): (&mut $crate::conn::Conn, &str) = ($conn, $id);
        let $row = p::publish_logs.filter(p::id.eq(id));
        let update = diesel::update($held).set($changes);
        let changed: Option<$crate::models::PublishLog> =
            $crate::conn::on_backend!(conn, |c| update
                .returning($crate::models::PublishLog::as_returning())
                .get_result(c)
                .optional())?;
        match changed {
            Some(log) => Ok(log),
            None => $crate::logs::get_log(conn, id).and_then(|log| Err($miss(&log))),
        }
    }};
}
pub(crate) use update_log_if;

/// [`update_log_if!`] for a log whose status is still `$status`; else
/// [`StoreError::InvalidState`].
macro_rules! update_if_status {
    ($conn:expr, $id:expr, $status:expr, $changes:expr) => {{
        let status: $crate::models::Status = $status;
        $crate::logs::update_log_if!(
            $conn,
            $id,
            |row| row.filter(p::status.eq(status.as_str())),
            $changes,
            |log| $crate::logs::not_in(log, status)
        )
    }};
}
pub(crate) use update_if_status;

/// That `log` is not in `status`.
pub(crate) fn not_in(log: &PublishLog, status: Status) -> StoreError {
    StoreError::InvalidState(format!(
        "publish log {} is {}, not {status}",
        log.id, log.status
    ))
}

/// Cancels a scheduled log (`scheduled` → `cancelled`, with a `publish_scheduled_cancelled`
/// event). [`StoreError::NotFound`] for an unknown log, [`StoreError::InvalidState`] when it is
/// no longer `scheduled`.
pub fn cancel(conn: &mut Conn, log_id: &str, now: DateTime<Utc>) -> Result<PublishLog> {
    write_transaction(conn, |conn| {
        // Under the account's lock, as every other change of a scheduled post: a high post
        // planning its displacement sees the account's posts hold still.
        let account_id = get_log(conn, log_id)?.social_account_id;
        lock_accounts(conn, &[&account_id])?;
        let now = now.trunc_subsecs(0);
        let log = update_if_status!(
            conn,
            log_id,
            Status::Scheduled,
            (
                p::status.eq(Status::Cancelled.as_str()),
                p::updated_at.eq(now.naive_utc()),
            )
        )?;
        let cancelled = Cancelled {
            clip_id: &log.clip_id,
            platform: log.platform.as_str(),
            scheduled_for: log.scheduled_for,
            social_account_id: &log.social_account_id,
        };
        insert_events(conn, &[NewEvent::about_log(log_id, &cancelled, now)])?;
        Ok(log)
    })
}

/// Plans a scheduled log again under the rules (its own old time does not count) and writes
/// the new time with a `publish_scheduled_rescheduled` event. [`StoreError::NotFound`] for an
/// unknown log, [`StoreError::InvalidState`] when it is no longer `scheduled`,
/// [`StoreError::Rejected`] when no slot fits.
pub fn reschedule(
    conn: &mut Conn,
    rules: &RuleSet,
    log_id: &str,
    change: &Reschedule,
    now: DateTime<Utc>,
) -> Result<Scheduled> {
    write_transaction(conn, |conn| {
        let account_id = get_log(conn, log_id)?.social_account_id;
        lock_accounts(conn, &[&account_id])?;
        // Read again under the lock: a concurrent cancel, tick or reschedule may have won.
        let old = get_log(conn, log_id)?;
        if old.status != Status::Scheduled {
            return Err(not_in(&old, Status::Scheduled));
        }
        let account = get_account(conn, &account_id)?;
        let plan = plan_slot(
            conn,
            rules,
            &account,
            &old.platform,
            &ScheduleRequest {
                requested_for: change.scheduled_for,
                window_end: change.scheduled_window_end,
                now,
            },
            Some(log_id),
        )?;
        let now = now.trunc_subsecs(0);
        let log = update_if_status!(
            conn,
            log_id,
            Status::Scheduled,
            (
                p::scheduled_for.eq(plan.scheduled_for.naive_utc()),
                p::scheduled_window_end.eq(plan.scheduled_window_end.naive_utc()),
                p::window_end_given.eq(change.scheduled_window_end.is_some()),
                p::requested_for.eq(plan.requested_for.naive_utc()),
                p::reason.eq(&plan.reason),
                p::updated_at.eq(now.naive_utc()),
            )
        )?;
        let rescheduled = Rescheduled {
            clip_id: &log.clip_id,
            new_scheduled_for: plan.scheduled_for,
            old_scheduled_for: old.scheduled_for,
            platform: log.platform.as_str(),
            reason: &plan.reason,
            social_account_id: &log.social_account_id,
        };
        insert_events(conn, &[NewEvent::about_log(log_id, &rescheduled, now)])?;
        Ok(Scheduled {
            log,
            reason: plan.reason,
        })
    })
}
