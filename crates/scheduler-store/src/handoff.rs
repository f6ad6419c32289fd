//! The publishing handoff (contract section 8): workers claim `pending` logs with a lease,
//! publish them, and report; a person settles what may or may not have been published.
//!
//! A lease token fences every report: the change is one `UPDATE … WHERE id = ? AND status =
//! 'processing' AND lease_token = ? AND lease_expires_at > now`, so a report with a token
//! whose lease ran out, or whose log another claim took, changes nothing
//! ([`StoreError::LeaseLost`]). Every transition commits with its ledger event. The lease's
//! clock is the database's on PostgreSQL (one clock for every host, as the tick's) and the
//! host's on SQLite; planning a retry reads `now` as scheduling does.

use chrono::{DateTime, NaiveDateTime, SubsecRound, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Text};
use scheduler_core::{Platform, RuleSet, ScheduleRequest};
use serde::Serialize;

use crate::account_lock::lock_accounts;
use crate::accounts::get_account;
use crate::calendar::plan_slot;
use crate::conn::{on_backend, write_transaction, Conn};
use crate::error::{Result, StoreError};
use crate::events::{
    insert_events, AttemptFailed, Claimed, Confirmed, FailedForGood, NewEvent, Published, Retried,
};
use crate::logs::{get_log, not_in, update_if_status, update_log_if};
use crate::models::{Account, Clip, PublishLog, Status};
use crate::schedule::Scheduled;
use crate::schema::publish_logs::dsl as p;
use crate::schema::{clips, social_accounts};

/// The most logs one claim takes.
pub const MAX_CLAIM: u32 = 100;
/// The shortest and longest lease, in seconds.
pub const LEASE_SECONDS: std::ops::RangeInclusive<u32> = 10..=3600;
/// The lease when none is asked for, in seconds.
pub const DEFAULT_LEASE_SECONDS: u32 = 300;
/// The most characters of an error text kept.
pub const MAX_ERROR_CHARS: usize = 2000;

/// What a worker asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest {
    /// Who claims: kept with the log and in its events.
    pub worker_id: String,
    /// At most this many logs (clamped to `1..=`[`MAX_CLAIM`]).
    pub limit: u32,
    /// The lease, in seconds (clamped to [`LEASE_SECONDS`]).
    pub lease_seconds: u32,
    /// Only logs of these platforms; empty: any.
    pub platforms: Vec<Platform>,
}

/// A claimed log, what a publisher needs with it, and the lease that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The log, now `processing`.
    pub log: PublishLog,
    /// Its clip.
    pub clip: Clip,
    /// Its account.
    pub account: Account,
    /// The token every report about this claim carries.
    pub lease_token: String,
    /// When the lease ends unless a heartbeat extends it.
    pub lease_expires_at: DateTime<Utc>,
    /// Which attempt this is, from 1.
    pub attempt: i32,
}

/// Why an attempt failed, as the worker tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The platform said try later, or the request never reached it: planned again after a
    /// backoff, until the platform's attempts run out.
    Retryable,
    /// The platform asked to wait (`retry_after`): planned again then; the attempt does not
    /// count.
    RateLimited,
    /// The platform refused the post for good.
    Permanent,
    /// The request may have reached the platform: a person must say (`unconfirmed`).
    Unknown,
}

impl FailureKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [
        Self::Retryable,
        Self::RateLimited,
        Self::Permanent,
        Self::Unknown,
    ];

    /// The name a report uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retryable => "retryable",
            Self::RateLimited => "rate_limited",
            Self::Permanent => "permanent",
            Self::Unknown => "unknown",
        }
    }
}

/// A worker's report that an attempt failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// What happened, in the worker's or the platform's words (kept cut to
    /// [`MAX_ERROR_CHARS`]).
    pub error: String,
    /// How long the platform asked to wait, for [`FailureKind::RateLimited`].
    pub retry_after: Option<TimeDelta>,
    /// In `-1.0..=1.0`: where in its ±10 % the backoff falls.
    pub jitter: f64,
}

/// A worker's report that the post is published.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    /// The platform's id of the post.
    pub platform_post_id: Option<String>,
    /// The post's address.
    pub permalink: Option<String>,
    /// Engagement figures the worker reported, as JSON text.
    pub engagement: Option<String>,
}

/// What happened to a log after a failure report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterFailure {
    /// The log as stored.
    pub log: PublishLog,
    /// The planner's reason when it was planned again.
    pub reason: Option<String>,
}

/// `text` cut to [`MAX_ERROR_CHARS`] characters.
fn cut(text: &str) -> String {
    text.chars().take(MAX_ERROR_CHARS).collect()
}

/// The clock leases are read by: the database's on PostgreSQL (this statement's start, so a
/// report that waited for a lock is judged when it reads, not when its transaction began), the
/// host's on SQLite; whole seconds.
fn lease_clock(conn: &mut Conn, host_now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let now = match conn {
        Conn::Pg(c) => diesel::select(diesel::dsl::sql::<diesel::sql_types::Timestamp>(
            "statement_timestamp() AT TIME ZONE 'UTC'",
        ))
        .get_result::<NaiveDateTime>(c)?
        .and_utc(),
        Conn::Sqlite(_) => host_now,
    };
    Ok(now.trunc_subsecs(0))
}

/// Claims up to `request.limit` `pending` logs, oldest `scheduled_for` first, then id: each
/// becomes `processing` with a fresh lease token, its attempt counted, and a
/// `publish_claimed` event. Any number of claims may run at once: each log goes to one.
pub fn claim(
    conn: &mut Conn,
    request: &ClaimRequest,
    host_now: DateTime<Utc>,
) -> Result<Vec<Claim>> {
    let limit = request.limit.clamp(1, MAX_CLAIM);
    let lease = TimeDelta::seconds(i64::from(
        request
            .lease_seconds
            .clamp(*LEASE_SECONDS.start(), *LEASE_SECONDS.end()),
    ));
    let platforms: Vec<String> = request
        .platforms
        .iter()
        .map(|p| p.as_str().to_owned())
        .collect();
    write_transaction(conn, |conn| {
        let tokens: Vec<String> = (0..limit)
            .map(|_| uuid::Uuid::new_v4().simple().to_string())
            .collect();
        let ids: Vec<String> = match conn {
            // One statement: the claim locks its rows and skips those another claim holds,
            // and the update numbers them to give each its own token.
            Conn::Pg(c) => {
                #[derive(QueryableByName)]
                struct Id {
                    #[diesel(sql_type = Text)]
                    id: String,
                }
                let ids: Vec<Id> = diesel::sql_query(
                    "WITH claimed AS MATERIALIZED ( \
                       SELECT id, scheduled_for FROM publish_logs \
                       WHERE status = $1 AND scheduled_for IS NOT NULL \
                         AND (cardinality($3::text[]) = 0 OR platform = ANY($3)) \
                       ORDER BY scheduled_for, id \
                       LIMIT $2 \
                       FOR UPDATE SKIP LOCKED), \
                     numbered AS ( \
                       SELECT id, row_number() OVER (ORDER BY scheduled_for, id) AS n FROM claimed) \
                     UPDATE publish_logs AS p \
                     SET status = $4, attempt = p.attempt + 1, lease_token = ($5::text[])[numbered.n], \
                       lease_expires_at = date_trunc('second', now()) + make_interval(secs => $6), \
                       leased_by = $7, updated_at = date_trunc('second', now()) \
                     FROM numbered WHERE p.id = numbered.id \
                     RETURNING p.id",
                )
                .bind::<Text, _>(Status::Pending.as_str())
                .bind::<BigInt, _>(i64::from(limit))
                .bind::<Array<Text>, _>(&platforms)
                .bind::<Text, _>(Status::Processing.as_str())
                .bind::<Array<Text>, _>(&tokens)
                .bind::<Integer, _>(lease.num_seconds() as i32)
                .bind::<Text, _>(&request.worker_id)
                .load(c)?;
                ids.into_iter().map(|i| i.id).collect()
            }
            // SQLite's write lock already keeps other claims out.
            Conn::Sqlite(c) => {
                let now = host_now.trunc_subsecs(0);
                // A log without a time (another program's) cannot be answered: left alone.
                let mut query = p::publish_logs
                    .filter(p::status.eq(Status::Pending.as_str()))
                    .filter(p::scheduled_for.is_not_null())
                    .into_boxed();
                if !platforms.is_empty() {
                    query = query.filter(p::platform.eq_any(&platforms));
                }
                let ids: Vec<String> = query
                    .order((p::scheduled_for.asc(), p::id.asc()))
                    .limit(i64::from(limit))
                    .select(p::id)
                    .load(c)?;
                for (id, token) in ids.iter().zip(&tokens) {
                    diesel::update(p::publish_logs.find(id))
                        .set((
                            p::status.eq(Status::Processing.as_str()),
                            p::attempt.eq(p::attempt + 1),
                            p::lease_token.eq(token),
                            p::lease_expires_at.eq((now + lease).naive_utc()),
                            p::leased_by.eq(&request.worker_id),
                            p::updated_at.eq(now.naive_utc()),
                        ))
                        .execute(c)?;
                }
                ids
            }
        };
        // The claimed logs with their tokens, clips and accounts: one query, oldest first.
        let rows: Vec<(PublishLog, Option<String>, Clip, Account)> =
            on_backend!(conn, |c| p::publish_logs
                .inner_join(clips::table)
                .inner_join(social_accounts::table)
                .filter(p::id.eq_any(&ids))
                .order((p::scheduled_for.asc(), p::id.asc()))
                .select((
                    PublishLog::as_select(),
                    p::lease_token,
                    Clip::as_select(),
                    Account::as_select(),
                ))
                .load(c))?;
        if rows.len() != ids.len() {
            return Err(StoreError::Corrupt(format!(
                "claimed {} logs but read back {}",
                ids.len(),
                rows.len()
            )));
        }
        let claims: Vec<Claim> = rows
            .into_iter()
            .map(|(log, lease_token, clip, account)| {
                let lease_token = lease_token.ok_or_else(|| {
                    StoreError::Corrupt(format!("claimed log {} has no lease", log.id))
                })?;
                Ok(Claim {
                    lease_expires_at: log.lease_expires_at.unwrap_or(log.updated_at),
                    attempt: log.attempt,
                    lease_token,
                    clip,
                    account,
                    log,
                })
            })
            .collect::<Result<_>>()?;
        let events: Vec<NewEvent> = claims
            .iter()
            .map(|claim| {
                let log = &claim.log;
                let claimed = Claimed {
                    attempt: claim.attempt,
                    clip_id: &log.clip_id,
                    lease_expires_at: claim.lease_expires_at,
                    platform: log.platform.as_str(),
                    social_account_id: &log.social_account_id,
                    worker_id: &request.worker_id,
                };
                NewEvent::about_log(&log.id, &claimed, log.updated_at)
            })
            .collect();
        insert_events(conn, &events)?;
        Ok(claims)
    })
}

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
    write_transaction(conn, |conn| {
        // The columns a completion sets, with `$at` its time.
        macro_rules! published {
            ($at:expr) => {
                (
                    p::status.eq(Status::Published.as_str()),
                    p::platform_post_id.eq(&completion.platform_post_id),
                    p::permalink.eq(&completion.permalink),
                    p::engagement.eq(&completion.engagement),
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
