//! The account's calendar: reading its posts near a requested time and planning in it.
//!
//! Planning is [`scheduler_core::RuleSet::plan`]; the caller holds the account's lock (see
//! [`crate::account_lock`]), so the posts read here cannot change before the plan is written.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use scheduler_core::{Plan, Platform, Posts, Rejection, RuleSet, ScheduleRequest};

use crate::conn::{on_backend, Conn};
use crate::error::Result;
use crate::models::{Account, Status};

/// Plans a slot for `account`, reading only its posts near the request: those within the
/// platform's reach before the start, and a span after it that doubles until it covers
/// [`Plan::needs_posts_until`] or reaches [`scheduler_core::latest_supported`], after which no
/// post lies (every stored time is a planned one). The span never passes that instant: SQLite
/// compares stored times as text, and a bound in the year 10000 (`+10000-…`) would sort before
/// every one of them. `exclude` is a log whose own time does not count.
pub(crate) fn plan_slot(
    conn: &mut Conn,
    rules: &RuleSet,
    account: &Account,
    platform: &Platform,
    request: &ScheduleRequest,
    exclude: Option<&str>,
) -> Result<Plan> {
    request.check_range()?;
    let reach = rules
        .get(platform)
        .ok_or_else(|| Rejection::UnknownPlatform(platform.to_string()))?
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
        let plan = rules.plan(platform, account.timezone, request, posts)?;
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
    let active = Status::ACTIVE.map(|s| s.as_str());
    let account_posts = || {
        p::publish_logs
            .filter(p::social_account_id.eq(&account.id))
            .filter(p::platform.eq(platform.as_str()))
            // Spelled out rather than `eq_any`: diesel prepares an `IN (…)` anew on every call,
            // and caches this.
            .filter(
                p::status
                    .eq(active[0])
                    .or(p::status.eq(active[1]))
                    .or(p::status.eq(active[2]))
                    .or(p::status.eq(active[3]))
                    .or(p::status.eq(active[4])),
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
