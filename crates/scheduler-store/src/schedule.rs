//! Scheduling, rescheduling and cancelling publish logs, and reading them.
//!
//! Planning is [`scheduler_core::RuleSet::plan`]; this module feeds it the account's other
//! posts near the requested time and writes the result with its ledger events in one write
//! transaction, serialized per account (see [`crate::backend::lock_accounts`]), so concurrent
//! requests on one account always see each other's posts.

use chrono::{DateTime, NaiveDateTime, SubsecRound, TimeDelta, Utc};
use diesel::prelude::*;
use scheduler_core::{rfc3339, Plan, Platform, Posts, RuleSet, ScheduleRequest};
use serde_json::json;

use crate::accounts::{clip_exists_or, find_account};
use crate::backend::{account_with_clip, lock_accounts, write_transaction};
use crate::db::{on_backend, Conn};
use crate::error::{Result, StoreError};
use crate::ledger::{self, event_type, NewEventRow};
use crate::models::{status, Account, PublishLog, ScheduledBy, SCHEDULE_TYPE_SCHEDULED};
use crate::new_ordered_id;
use crate::schema::publish_logs;

/// A request to publish a clip on an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSchedule {
    /// The clip.
    pub clip_id: String,
    /// The platform, as the client wrote it; it must be the account's.
    pub platform: String,
    /// The account.
    pub social_account_id: String,
    /// When to publish; `None` is the next free slot from now.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// The latest acceptable slot.
    pub scheduled_window_end: Option<DateTime<Utc>>,
    /// Who asks.
    pub scheduled_by: ScheduledBy,
}

/// A new time for a scheduled log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reschedule {
    /// When to publish; `None` is the next free slot from now.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// The latest acceptable slot.
    pub scheduled_window_end: Option<DateTime<Utc>>,
}

/// A scheduled (or rescheduled) log and why its time differs from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    /// The log as stored.
    pub log: PublishLog,
    /// The planner's reason, e.g. `Adjusted 5min forward to respect 60min gap`.
    pub reason: String,
}

/// One result of [`schedule_batch`]: the scheduled log, or the rejection reason.
pub type BatchItem = std::result::Result<Scheduled, String>;

/// Schedules one post in its own write transaction (or a savepoint of the caller's; see
/// [`write_transaction`]). A rejection ([`StoreError::Rejected`]) writes nothing.
pub fn schedule(
    conn: &mut Conn,
    rules: &RuleSet,
    request: &NewSchedule,
    now: DateTime<Utc>,
) -> Result<Scheduled> {
    write_transaction(conn, |conn| {
        schedule_one(conn, rules, request, now, AccountLock::Take)
    })
}

/// Schedules several posts in order in one write transaction; later ones see earlier ones.
/// Each item is scheduled or rejected on its own (a rejection writes nothing); a database
/// error fails the whole batch.
pub fn schedule_batch(
    conn: &mut Conn,
    rules: &RuleSet,
    requests: &[NewSchedule],
    now: DateTime<Utc>,
) -> Result<Vec<BatchItem>> {
    write_transaction(conn, |conn| {
        let accounts: Vec<&str> = requests
            .iter()
            .map(|r| r.social_account_id.as_str())
            .collect();
        lock_accounts(conn, &accounts)?;
        requests
            .iter()
            .map(|request| {
                let scheduled = conn
                    .transaction(|conn| schedule_one(conn, rules, request, now, AccountLock::Held));
                match scheduled {
                    Ok(scheduled) => Ok(Ok(scheduled)),
                    Err(StoreError::Rejected(reason)) => Ok(Err(reason)),
                    Err(other) => Err(other),
                }
            })
            .collect()
    })
}

/// Whether [`schedule_one`] takes the account's lock or the caller already holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AccountLock {
    Take,
    Held,
}

/// Validates, plans and writes one post, under the account's lock.
fn schedule_one(
    conn: &mut Conn,
    rules: &RuleSet,
    request: &NewSchedule,
    now: DateTime<Utc>,
    lock: AccountLock,
) -> Result<Scheduled> {
    let clip_missing = || StoreError::Rejected(format!("Clip not found: {}", request.clip_id));
    // The account, whether the clip exists and (PostgreSQL) the account's lock, in one
    // statement; the clip's error comes first.
    let found = account_with_clip(
        conn,
        &request.social_account_id,
        &request.clip_id,
        lock == AccountLock::Take,
    )?;
    let account = match found {
        Some((account, true)) => account,
        Some((_, false)) => return Err(clip_missing()),
        None => {
            clip_exists_or(conn, &request.clip_id, clip_missing)?;
            return Err(StoreError::Rejected(format!(
                "Social account not found: {}",
                request.social_account_id
            )));
        }
    };
    let platform = Platform::parse(&request.platform)
        .ok()
        .filter(|p| *p == account.platform)
        .ok_or_else(|| {
            StoreError::Rejected(format!(
                "Platform mismatch: account {} is on {}, not {}",
                account.id,
                account.platform,
                request.platform.chars().take(64).collect::<String>()
            ))
        })?;
    let plan = plan_slot(
        conn,
        rules,
        &account,
        &platform,
        &ScheduleRequest {
            requested_for: request.scheduled_for,
            window_end: request.scheduled_window_end,
            now,
        },
        None,
    )?;

    let id = new_ordered_id("log");
    let now = now.trunc_subsecs(0);
    // Column values, not a derived `Insertable`, so that diesel keeps the statement prepared
    // (see `backend::insert_events`).
    use crate::schema::publish_logs::dsl as p;
    let insert = diesel::insert_into(publish_logs::table)
        .values((
            p::id.eq(&id),
            p::clip_id.eq(&request.clip_id),
            p::platform.eq(platform.as_str()),
            p::social_account_id.eq(&account.id),
            p::status.eq(status::SCHEDULED),
            p::schedule_type.eq(SCHEDULE_TYPE_SCHEDULED),
            p::scheduled_for.eq(plan.scheduled_for.naive_utc()),
            p::scheduled_window_end.eq(plan.scheduled_window_end.naive_utc()),
            p::scheduled_by.eq(request.scheduled_by.as_str()),
            p::requested_for.eq(plan.requested_for.naive_utc()),
            p::reason.eq(&plan.reason),
            p::created_at.eq(now.naive_utc()),
            p::updated_at.eq(now.naive_utc()),
        ))
        .returning(publish_logs::all_columns);
    let log: PublishLog = on_backend!(conn, |c| insert.get_result(c))?;

    let mut events = vec![NewEventRow::publish_log(
        event_type::CREATED,
        &id,
        &json!({
            "clip_id": log.clip_id,
            "platform": log.platform,
            "social_account_id": log.social_account_id,
            "scheduled_for": rfc3339(plan.scheduled_for),
            "requested_for": rfc3339(plan.requested_for),
            "scheduled_window_end": rfc3339(plan.scheduled_window_end),
            "scheduled_by": log.scheduled_by,
            "status": log.status,
        }),
        now,
    )];
    if plan.is_adjusted() {
        events.push(NewEventRow::publish_log(
            event_type::ADJUSTED,
            &id,
            &json!({
                "clip_id": log.clip_id,
                "platform": log.platform,
                "original_time": rfc3339(plan.requested_for),
                "adjusted_time": rfc3339(plan.scheduled_for),
                "reason": plan.reason,
            }),
            now,
        ));
    }
    ledger::append(conn, &events)?;
    Ok(Scheduled {
        log,
        reason: plan.reason,
    })
}

/// Plans a slot for `account`, reading only its posts near the request: those within the
/// platform's reach before the start, and a span after it that doubles until it covers
/// [`Plan::needs_posts_until`] or reaches [`scheduler_core::latest_supported`], after which no
/// post lies (every stored time is a planned one). The span never passes that instant: SQLite
/// compares stored times as text, and a bound in the year 10000 (`+10000-…`) would sort before
/// every one of them. `exclude` is a log whose own time does not count.
fn plan_slot(
    conn: &mut Conn,
    rules: &RuleSet,
    account: &Account,
    platform: &Platform,
    request: &ScheduleRequest,
    exclude: Option<&str>,
) -> Result<Plan> {
    request
        .check_range()
        .map_err(|rejection| StoreError::Rejected(rejection.to_string()))?;
    let reach = rules
        .get(platform)
        .ok_or_else(|| StoreError::Rejected(format!("Unknown platform: {platform}")))?
        .reach();
    let start = request
        .requested_for
        .unwrap_or(request.now)
        .max(request.now);
    // One second of slack: the planner rounds its start up to a whole second.
    let from = start - reach - TimeDelta::seconds(1);
    let latest = scheduler_core::latest_supported();
    let mut span = TimeDelta::days(2) + reach;
    loop {
        let until = (start + span).min(latest);
        let times = post_times(conn, account, platform, (from, until), exclude)?;
        let posts = Posts::new(&times).expect("post_times sorts its result");
        let plan = rules
            .plan(platform, account.timezone, request, posts)
            .map_err(|rejection| StoreError::Rejected(rejection.to_string()))?;
        if plan.needs_posts_until <= until || until == latest {
            return Ok(plan);
        }
        span = span * 2;
    }
}

/// The times of the account's active posts on the platform within `range` (inclusive),
/// sorted: `scheduled_for`, or `created_at` for a log without one.
///
/// One `UNION ALL` of two index ranges (run on the backend's own connection: diesel's
/// `MultiConnection` does not compile `UNION`): logs with a time by `(social_account_id,
/// platform, scheduled_for)`, and logs without one by the partial index on
/// `(social_account_id, platform, created_at) WHERE scheduled_for IS NULL`. One query
/// with `… OR (scheduled_for IS NULL AND created_at …)` let SQLite (without `ANALYZE`
/// statistics) seek on the account alone and read every one of its rows: 65 ms at 100,000
/// posts instead of 0.2 ms.
fn post_times(
    conn: &mut Conn,
    account: &Account,
    platform: &Platform,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
    exclude: Option<&str>,
) -> Result<Vec<DateTime<Utc>>> {
    use crate::schema::publish_logs::dsl as p;
    let (from, until) = (from.naive_utc(), until.naive_utc());
    // No log has an empty id.
    let exclude = exclude.unwrap_or_default();
    let account_posts = || {
        p::publish_logs
            .filter(p::social_account_id.eq(&account.id))
            .filter(p::platform.eq(platform.as_str()))
            // Spelled out rather than `eq_any`: diesel prepares an `IN (…)` anew on every call,
            // and caches this.
            .filter(
                p::status
                    .eq(status::ACTIVE[0])
                    .or(p::status.eq(status::ACTIVE[1]))
                    .or(p::status.eq(status::ACTIVE[2]))
                    .or(p::status.eq(status::ACTIVE[3])),
            )
            .filter(p::id.ne(exclude))
    };
    let scheduled = account_posts()
        .filter(p::scheduled_for.between(from, until))
        .select(p::scheduled_for);
    let unscheduled = account_posts()
        .filter(p::scheduled_for.is_null())
        .filter(p::created_at.between(from, until))
        .select(p::created_at.nullable());
    let both = scheduled.union_all(unscheduled);
    let rows: Vec<Option<NaiveDateTime>> = on_backend!(conn, |c| both.load(c))?;
    let mut times: Vec<DateTime<Utc>> = rows.into_iter().flatten().map(|t| t.and_utc()).collect();
    times.sort_unstable();
    Ok(times)
}

/// Plans a scheduled log again under the rules (its own old time does not count) and writes
/// the new time with a `publish_scheduled_rescheduled` event. [`StoreError::NotFound`] for an
/// unknown log, [`StoreError::Conflict`] when it is no longer `scheduled`,
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
        if old.status != status::SCHEDULED {
            return Err(not_scheduled(&old));
        }
        let account = find_account(conn, &account_id)?
            .ok_or_else(|| StoreError::not_found("account", &account_id))?;
        let platform = Platform::parse(&old.platform)
            .map_err(|e| StoreError::Corrupt(format!("publish log {log_id}: {e}")))?;
        let plan = plan_slot(
            conn,
            rules,
            &account,
            &platform,
            &ScheduleRequest {
                requested_for: change.scheduled_for,
                window_end: change.scheduled_window_end,
                now,
            },
            Some(log_id),
        )?;
        let now = now.trunc_subsecs(0);
        use crate::schema::publish_logs::dsl as p;
        // The status condition guards against a concurrent tick, which takes no account lock.
        let updated: Option<PublishLog> = diesel::update(
            p::publish_logs
                .filter(p::id.eq(log_id))
                .filter(p::status.eq(status::SCHEDULED)),
        )
        .set((
            p::scheduled_for.eq(plan.scheduled_for.naive_utc()),
            p::scheduled_window_end.eq(plan.scheduled_window_end.naive_utc()),
            p::requested_for.eq(plan.requested_for.naive_utc()),
            p::reason.eq(&plan.reason),
            p::updated_at.eq(now.naive_utc()),
        ))
        .returning(p::publish_logs::all_columns())
        .get_result(conn)
        .optional()?;
        let Some(log) = updated else {
            return Err(not_scheduled(&get_log(conn, log_id)?));
        };
        ledger::append(
            conn,
            &[NewEventRow::publish_log(
                event_type::RESCHEDULED,
                log_id,
                &json!({
                    "clip_id": log.clip_id,
                    "platform": log.platform,
                    "social_account_id": log.social_account_id,
                    "old_scheduled_for": old.scheduled_for.map(rfc3339),
                    "new_scheduled_for": rfc3339(plan.scheduled_for),
                    "reason": plan.reason,
                }),
                now,
            )],
        )?;
        Ok(Scheduled {
            log,
            reason: plan.reason,
        })
    })
}

/// Cancels a scheduled log (`scheduled` → `cancelled`, with a `publish_scheduled_cancelled`
/// event). [`StoreError::NotFound`] for an unknown log, [`StoreError::Conflict`] when it is no
/// longer `scheduled`.
pub fn cancel(conn: &mut Conn, log_id: &str, now: DateTime<Utc>) -> Result<PublishLog> {
    write_transaction(conn, |conn| {
        use crate::schema::publish_logs::dsl as p;
        let now = now.trunc_subsecs(0);
        // The status condition makes the change atomic against a concurrent tick or cancel.
        let cancelled: Option<PublishLog> = diesel::update(
            p::publish_logs
                .filter(p::id.eq(log_id))
                .filter(p::status.eq(status::SCHEDULED)),
        )
        .set((
            p::status.eq(status::CANCELLED),
            p::updated_at.eq(now.naive_utc()),
        ))
        .returning(p::publish_logs::all_columns())
        .get_result(conn)
        .optional()?;
        let Some(log) = cancelled else {
            return Err(not_scheduled(&get_log(conn, log_id)?));
        };
        ledger::append(
            conn,
            &[NewEventRow::publish_log(
                event_type::CANCELLED,
                log_id,
                &json!({
                    "clip_id": log.clip_id,
                    "platform": log.platform,
                    "social_account_id": log.social_account_id,
                    "scheduled_for": log.scheduled_for.map(rfc3339),
                }),
                now,
            )],
        )?;
        Ok(log)
    })
}

fn not_scheduled(log: &PublishLog) -> StoreError {
    StoreError::Conflict(format!(
        "publish log {} is {}, not scheduled",
        log.id, log.status
    ))
}

/// One log, or [`StoreError::NotFound`].
pub fn get_log(conn: &mut Conn, id: &str) -> Result<PublishLog> {
    let query = publish_logs::table.find(id);
    on_backend!(conn, |c| query.get_result(c).optional())?
        .ok_or_else(|| StoreError::not_found("publish log", id))
}

/// Every log of a clip with `schedule_type = 'scheduled'`, whatever its status, by
/// `scheduled_for`. [`StoreError::NotFound`] for an unknown clip.
pub fn list_clip_schedule(conn: &mut Conn, clip_id: &str) -> Result<Vec<PublishLog>> {
    clip_exists_or(conn, clip_id, || StoreError::not_found("clip", clip_id))?;
    use crate::schema::publish_logs::dsl as p;
    Ok(p::publish_logs
        .filter(p::clip_id.eq(clip_id))
        .filter(p::schedule_type.eq(SCHEDULE_TYPE_SCHEDULED))
        .order((p::scheduled_for.asc(), p::created_at.asc(), p::id.asc()))
        .load(conn)?)
}
