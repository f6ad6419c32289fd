//! Publish logs once they exist: reading them, cancelling and rescheduling them.

use chrono::{DateTime, SubsecRound, Utc};
use diesel::prelude::*;
use scheduler_core::{RuleSet, ScheduleRequest};

use crate::account_lock::lock_accounts;
use crate::accounts::{clip_exists_or, get_account};
use crate::calendar::plan_slot;
use crate::conn::{on_backend, write_transaction, Conn};
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

/// Sets `$changes` (columns of [`p`]) on the log `$id` if it is still `scheduled`; the changed log, or
/// [`StoreError::InvalidState`] (or [`StoreError::NotFound`]). The status condition makes the
/// change atomic against a concurrent tick, cancel or reschedule (the tick takes no account
/// lock).
macro_rules! update_if_scheduled {
    ($conn:expr, $id:expr, $changes:expr) => {{
        let (conn, id): (&mut Conn, &str) = ($conn, $id);
        let update = diesel::update(
            p::publish_logs
                .filter(p::id.eq(id))
                .filter(p::status.eq(Status::Scheduled.as_str())),
        )
        .set($changes);
        let changed: Option<PublishLog> = on_backend!(conn, |c| update
            .returning(PublishLog::as_returning())
            .get_result(c)
            .optional())?;
        match changed {
            Some(log) => Ok(log),
            None => get_log(conn, id).and_then(|log| Err(not_scheduled(&log))),
        }
    }};
}

fn not_scheduled(log: &PublishLog) -> StoreError {
    StoreError::InvalidState(format!(
        "publish log {} is {}, not scheduled",
        log.id, log.status
    ))
}

/// Cancels a scheduled log (`scheduled` → `cancelled`, with a `publish_scheduled_cancelled`
/// event). [`StoreError::NotFound`] for an unknown log, [`StoreError::InvalidState`] when it is
/// no longer `scheduled`.
pub fn cancel(conn: &mut Conn, log_id: &str, now: DateTime<Utc>) -> Result<PublishLog> {
    write_transaction(conn, |conn| {
        let now = now.trunc_subsecs(0);
        let log = update_if_scheduled!(
            conn,
            log_id,
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
            return Err(not_scheduled(&old));
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
        let log = update_if_scheduled!(
            conn,
            log_id,
            (
                p::scheduled_for.eq(plan.scheduled_for.naive_utc()),
                p::scheduled_window_end.eq(plan.scheduled_window_end.naive_utc()),
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
