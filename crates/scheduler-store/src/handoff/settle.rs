//! What a person decides: whether an `unconfirmed` post is up, and trying a `failed` one again.

use chrono::{DateTime, SubsecRound, Utc};
use diesel::prelude::*;
use scheduler_core::{RuleSet, ScheduleRequest};

use super::AfterFailure;
use crate::account_lock::lock_accounts;
use crate::accounts::get_account;
use crate::calendar::plan_slot;
use crate::conn::{write_transaction, Conn};
use crate::error::Result;
use crate::events::{insert_events, Confirmed, NewEvent, Retried};
use crate::logs::{get_log, not_in, update_if_status};
use crate::models::Status;
use crate::schedule::Scheduled;

/// Plans the log `log_id`, whose status is `from`, again from `request` under the account's
/// lock, and writes it `scheduled` with its attempts started over; the event is the caller's.
fn plan_again(
    conn: &mut Conn,
    rules: &RuleSet,
    log_id: &str,
    from: Status,
    requested_for: Option<DateTime<Utc>>,
    host_now: DateTime<Utc>,
) -> Result<Scheduled> {
    let account_id = get_log(conn, log_id)?.social_account_id;
    lock_accounts(conn, &[&account_id])?;
    let log = get_log(conn, log_id)?;
    if log.status != from {
        return Err(not_in(&log, from));
    }
    let account = get_account(conn, &account_id)?;
    let request = ScheduleRequest {
        requested_for,
        window_end: None,
        now: host_now,
    };
    let plan = plan_slot(conn, rules, &account, &log.platform, &request, Some(log_id))?;
    let now = host_now.trunc_subsecs(0);
    let log = update_if_status!(
        conn,
        log_id,
        from,
        (
            p::status.eq(Status::Scheduled.as_str()),
            p::attempt.eq(0),
            p::scheduled_for.eq(plan.scheduled_for.naive_utc()),
            p::scheduled_window_end.eq(plan.scheduled_window_end.naive_utc()),
            p::window_end_given.eq(false),
            p::requested_for.eq(plan.requested_for.naive_utc()),
            p::reason.eq(&plan.reason),
            p::updated_at.eq(now.naive_utc()),
        )
    )?;
    Ok(Scheduled {
        log,
        reason: plan.reason,
    })
}

/// A person's answer for an `unconfirmed` log: published (`published`, with the platform's
/// id if known) or not (`scheduled` again, planned from now, its attempts started over).
/// Event: `publish_confirmed`. The reason is the planner's when it was planned again.
pub fn confirm(
    conn: &mut Conn,
    rules: &RuleSet,
    log_id: &str,
    published: bool,
    platform_post_id: Option<&str>,
    host_now: DateTime<Utc>,
) -> Result<AfterFailure> {
    write_transaction(conn, |conn| {
        let now = host_now.trunc_subsecs(0);
        let (log, reason) = if published {
            let log = update_if_status!(
                conn,
                log_id,
                Status::Unconfirmed,
                (
                    p::status.eq(Status::Published.as_str()),
                    p::platform_post_id.eq(platform_post_id),
                    p::last_error.eq(None::<String>),
                    p::updated_at.eq(now.naive_utc()),
                )
            )?;
            (log, None)
        } else {
            let scheduled = plan_again(conn, rules, log_id, Status::Unconfirmed, None, host_now)?;
            (scheduled.log, Some(scheduled.reason))
        };
        let confirmed = Confirmed {
            clip_id: &log.clip_id,
            platform: log.platform.as_str(),
            platform_post_id,
            published,
            social_account_id: &log.social_account_id,
        };
        insert_events(conn, &[NewEvent::about_log(log_id, &confirmed, now)])?;
        Ok(AfterFailure { log, reason })
    })
}

/// `failed` → `scheduled`, planned under the rules from `scheduled_for` (or now), its
/// attempts started over. Event: `publish_retried`.
pub fn retry(
    conn: &mut Conn,
    rules: &RuleSet,
    log_id: &str,
    scheduled_for: Option<DateTime<Utc>>,
    host_now: DateTime<Utc>,
) -> Result<Scheduled> {
    write_transaction(conn, |conn| {
        let scheduled = plan_again(conn, rules, log_id, Status::Failed, scheduled_for, host_now)?;
        let log = &scheduled.log;
        let retried = Retried {
            clip_id: &log.clip_id,
            new_scheduled_for: log.scheduled_for.unwrap_or(host_now),
            platform: log.platform.as_str(),
            reason: &scheduled.reason,
            social_account_id: &log.social_account_id,
        };
        insert_events(
            conn,
            &[NewEvent::about_log(
                log_id,
                &retried,
                host_now.trunc_subsecs(0),
            )],
        )?;
        Ok(scheduled)
    })
}
