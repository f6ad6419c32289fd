//! A worker's reports on its claim: heartbeats, a completion, a failure. Each is fenced by the
//! lease token.

use chrono::{DateTime, NaiveDateTime, SubsecRound, TimeDelta, Utc};
use diesel::prelude::*;
use scheduler_core::{RuleSet, ScheduleRequest};

use super::{cut, lease_clock, AfterFailure, Completion, Failure, FailureKind, LEASE_SECONDS};
use crate::account_lock::lock_accounts;
use crate::accounts::get_account;
use crate::calendar::plan_slot;
use crate::conn::{write_transaction, Conn};
use crate::engagement::{count_views, views_column, Engagement};
use crate::error::{Result, StoreError};
use crate::events::{insert_events, AttemptFailed, FailedForGood, NewEvent, Published};
use crate::logs::{get_log, update_log_if};
use crate::models::{PublishLog, Status};
use crate::schema::publish_logs::dsl as p;

/// Sets `$changes` on the log `$id` if `$token` still holds its lease at `$now`; the changed
/// log, or [`StoreError::LeaseLost`] (or [`StoreError::NotFound`]).
macro_rules! update_if_leased {
    ($conn:expr, $id:expr, $token:expr, $now:expr, $changes:expr) => {{
        let (token, now): (&str, DateTime<Utc>) = ($token, $now);
        update_log_if!(
            $conn,
            $id,
            |row| row
                .filter(p::status.eq(Status::Processing.as_str()))
                .filter(p::lease_token.eq(token))
                .filter(p::lease_expires_at.gt(now.naive_utc())),
            $changes,
            lease_lost
        )
    }};
}

fn lease_lost(log: &PublishLog) -> StoreError {
    StoreError::LeaseLost(format!(
        "the lease on publish log {} is no longer this token's (the log is {})",
        log.id, log.status
    ))
}

/// Extends a lease: it then ends `lease_seconds` (clamped to [`LEASE_SECONDS`]) from now.
/// Returns the new end.
pub fn heartbeat(
    conn: &mut Conn,
    log_id: &str,
    lease_token: &str,
    lease_seconds: u32,
    host_now: DateTime<Utc>,
) -> Result<DateTime<Utc>> {
    let lease = TimeDelta::seconds(i64::from(
        lease_seconds.clamp(*LEASE_SECONDS.start(), *LEASE_SECONDS.end()),
    ));
    write_transaction(conn, |conn| {
        let now = lease_clock(conn, host_now)?;
        let log = update_if_leased!(
            conn,
            log_id,
            lease_token,
            now,
            p::lease_expires_at.eq((now + lease).naive_utc())
        )?;
        Ok(log.lease_expires_at.unwrap_or(now + lease))
    })
}

/// The columns that end a lease.
macro_rules! lease_ended {
    () => {
        (
            p::lease_token.eq(None::<String>),
            p::lease_expires_at.eq(None::<NaiveDateTime>),
        )
    };
}

/// `processing` → `published`, with a `publish_published` event.
pub fn complete(
    conn: &mut Conn,
    log_id: &str,
    lease_token: &str,
    completion: &Completion,
    host_now: DateTime<Utc>,
) -> Result<PublishLog> {
    let views = completion
        .engagement
        .as_deref()
        .and_then(Engagement::from_json)
        .and_then(|e| e.views);
    write_transaction(conn, |conn| {
        // The columns a completion sets, with `$at` its time.
        macro_rules! published {
            ($at:expr) => {
                (
                    p::status.eq(Status::Published.as_str()),
                    p::platform_post_id.eq(&completion.platform_post_id),
                    p::permalink.eq(&completion.permalink),
                    p::engagement.eq(&completion.engagement),
                    p::counted_views.eq(views.map(views_column)),
                    p::last_error.eq(None::<String>),
                    lease_ended!(),
                    p::updated_at.eq($at),
                )
            };
        }
        let held = p::publish_logs
            .filter(p::id.eq(log_id))
            .filter(p::status.eq(Status::Processing.as_str()))
            .filter(p::lease_token.eq(lease_token));
        // The hot path of every publish: on PostgreSQL the lease's clock is read in the
        // fencing statement itself, one round trip fewer than `update_if_leased!`.
        let changed: Option<PublishLog> = match conn {
            Conn::Pg(c) => {
                diesel::update(held.filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "lease_expires_at > statement_timestamp()",
                )))
                .set(published!(
                    diesel::dsl::sql::<diesel::sql_types::Timestamp>(
                        "date_trunc('second', statement_timestamp())"
                    )
                ))
                .returning(PublishLog::as_returning())
                .get_result(c)
                .optional()?
            }
            Conn::Sqlite(c) => {
                let now = host_now.trunc_subsecs(0).naive_utc();
                diesel::update(held.filter(p::lease_expires_at.gt(now)))
                    .set(published!(now))
                    .returning(PublishLog::as_returning())
                    .get_result(c)
                    .optional()?
            }
        };
        let log = match changed {
            Some(log) => log,
            None => return get_log(conn, log_id).and_then(|log| Err(lease_lost(&log))),
        };
        let published = Published {
            attempt: log.attempt,
            clip_id: &log.clip_id,
            permalink: log.permalink.as_deref(),
            platform: log.platform.as_str(),
            platform_post_id: log.platform_post_id.as_deref(),
            social_account_id: &log.social_account_id,
        };
        insert_events(
            conn,
            &[NewEvent::about_log(log_id, &published, log.updated_at)],
        )?;
        // A post is published once: it counted in nothing before.
        count_views(conn, &log, None, views)?;
        Ok(log)
    })
}

/// A failed attempt. `retryable` and `rate_limited` plan the log again (`scheduled`) at the
/// earliest slot the rules allow after the backoff (or `retry_after`), unless a `retryable`
/// one used the platform's last attempt; that, `permanent`, and a retry with no slot left are
/// `failed`; `unknown` is `unconfirmed`. Events: `publish_attempt_failed`, and
/// `publish_failed` when it failed for good.
pub fn fail(
    conn: &mut Conn,
    rules: &RuleSet,
    log_id: &str,
    lease_token: &str,
    failure: &Failure,
    host_now: DateTime<Utc>,
) -> Result<AfterFailure> {
    let error = cut(&failure.error);
    write_transaction(conn, |conn| {
        let account_id = get_log(conn, log_id)?.social_account_id;
        // A retry is planned among the account's posts: under its lock, as scheduling.
        lock_accounts(conn, &[&account_id])?;
        let now = lease_clock(conn, host_now)?;
        let held = get_log(conn, log_id)?;
        // The attempt a rate limit does not count.
        let attempt = match failure.kind {
            FailureKind::RateLimited => (held.attempt - 1).max(0),
            _ => held.attempt,
        };
        let policy = rules
            .get(&held.platform)
            .map(|r| r.retry)
            .unwrap_or_default();
        let retry_at = match failure.kind {
            FailureKind::Retryable => policy
                .allows_another(u32::try_from(attempt).unwrap_or(0))
                .then(|| policy.retry_request(attempt as u32, failure.jitter, host_now)),
            FailureKind::RateLimited => Some(match failure.retry_after {
                Some(wait) => ScheduleRequest {
                    requested_for: Some(host_now + wait.max(TimeDelta::zero())),
                    window_end: None,
                    now: host_now,
                },
                None => policy.retry_request(held.attempt.max(1) as u32, failure.jitter, host_now),
            }),
            FailureKind::Permanent | FailureKind::Unknown => None,
        };
        let account = get_account(conn, &account_id)?;
        let plan = match retry_at {
            Some(request) => {
                match plan_slot(
                    conn,
                    rules,
                    &account,
                    &held.platform,
                    &request,
                    Some(log_id),
                ) {
                    Ok(plan) => Some(plan),
                    // No slot left for the retry: it fails for good, and says why.
                    Err(StoreError::Rejected(refusal)) => {
                        return fail_for_good(
                            conn,
                            log_id,
                            lease_token,
                            failure.kind,
                            &format!("{error} (no retry: {})", refusal.reason),
                            attempt,
                            held.attempt,
                            now,
                        )
                    }
                    Err(other) => return Err(other),
                }
            }
            None => None,
        };
        let to_unconfirmed = failure.kind == FailureKind::Unknown;
        let (log, next, reason) = match plan {
            Some(plan) => {
                let log = update_if_leased!(
                    conn,
                    log_id,
                    lease_token,
                    now,
                    (
                        p::status.eq(Status::Scheduled.as_str()),
                        p::attempt.eq(attempt),
                        p::scheduled_for.eq(plan.scheduled_for.naive_utc()),
                        p::scheduled_window_end.eq(plan.scheduled_window_end.naive_utc()),
                        p::window_end_given.eq(false),
                        p::requested_for.eq(plan.requested_for.naive_utc()),
                        p::reason.eq(&plan.reason),
                        p::last_error.eq(&error),
                        lease_ended!(),
                        p::updated_at.eq(now.naive_utc()),
                    )
                )?;
                (log, Some(plan.scheduled_for), Some(plan.reason))
            }
            None if to_unconfirmed => {
                let log = update_if_leased!(
                    conn,
                    log_id,
                    lease_token,
                    now,
                    (
                        p::status.eq(Status::Unconfirmed.as_str()),
                        p::last_error.eq(&error),
                        lease_ended!(),
                        p::updated_at.eq(now.naive_utc()),
                    )
                )?;
                (log, None, None)
            }
            None => {
                return fail_for_good(
                    conn,
                    log_id,
                    lease_token,
                    failure.kind,
                    &error,
                    attempt,
                    held.attempt,
                    now,
                )
            }
        };
        let failed = AttemptFailed {
            attempt: held.attempt,
            clip_id: &log.clip_id,
            error: &error,
            kind: failure.kind.as_str(),
            next_scheduled_for: next,
            platform: log.platform.as_str(),
            social_account_id: &log.social_account_id,
        };
        insert_events(conn, &[NewEvent::about_log(log_id, &failed, now)])?;
        Ok(AfterFailure { log, reason })
    })
}

/// `processing` → `failed`, with `publish_attempt_failed` and `publish_failed`.
/// `attempt` is what the log keeps; `failed_attempt`, the attempt that failed, is what the
/// events say (they differ for a rate limit, whose attempt is given back).
#[allow(clippy::too_many_arguments)]
fn fail_for_good(
    conn: &mut Conn,
    log_id: &str,
    lease_token: &str,
    kind: FailureKind,
    error: &str,
    attempt: i32,
    failed_attempt: i32,
    now: DateTime<Utc>,
) -> Result<AfterFailure> {
    let error = cut(error);
    let log = update_if_leased!(
        conn,
        log_id,
        lease_token,
        now,
        (
            p::status.eq(Status::Failed.as_str()),
            p::attempt.eq(attempt),
            p::last_error.eq(&error),
            lease_ended!(),
            p::updated_at.eq(now.naive_utc()),
        )
    )?;
    let failed = AttemptFailed {
        attempt: failed_attempt,
        clip_id: &log.clip_id,
        error: &error,
        kind: kind.as_str(),
        next_scheduled_for: None,
        platform: log.platform.as_str(),
        social_account_id: &log.social_account_id,
    };
    let gave_up = FailedForGood {
        attempt: failed_attempt,
        clip_id: &log.clip_id,
        error: &error,
        platform: log.platform.as_str(),
        social_account_id: &log.social_account_id,
    };
    insert_events(
        conn,
        &[
            NewEvent::about_log(log_id, &failed, now),
            NewEvent::about_log(log_id, &gave_up, now),
        ],
    )?;
    Ok(AfterFailure { log, reason: None })
}
