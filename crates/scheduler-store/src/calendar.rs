//! The account's calendar: reading its posts near a requested time and planning in it.
//!
//! Planning is [`scheduler_core::RuleSet::plan`]. A plan is written only where it holds among
//! the posts as they are under the account's lock (see [`crate::account_lock`]): the caller
//! holds the lock while it reads and plans, or, for PostgreSQL's common schedule
//! ([`plan_among`] in `schedule/plan_then_write.rs`), the statement that writes reads the posts
//! again under the lock and writes only if they are the ones planned among.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Timestamp};
use scheduler_core::{
    plan_occurrences, Plan, PlannedOccurrence, Platform, Posts, Rejection, RuleSet,
    ScheduleRequest, ToPlan,
};

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
    plan_slot_from(conn, rules, account, platform, request, exclude, None)
}

/// The first span [`plan_slot`] reads the account's posts in, for `request` on `platform`
/// (`None` for a platform without rules or a time out of range): a caller that read them
/// already (in the statement that took the account's lock) passes them to [`plan_slot_from`].
pub(crate) fn first_span(
    rules: &RuleSet,
    platform: &Platform,
    request: &ScheduleRequest,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    // A time out of the supported years is refused by the planner before any read.
    request.check_range().ok()?;
    let reach = rules.get(platform)?.reach();
    let start = request
        .requested_for
        .unwrap_or(request.now)
        .max(request.now);
    // One second of slack: the planner rounds its start up to a whole second.
    let from = start - reach - TimeDelta::seconds(1);
    let latest = scheduler_core::latest_supported();
    Some((from, (start + TimeDelta::days(2) + reach).min(latest)))
}

/// [`plan_slot`], with the posts of its [`first_span`] read already (`read`), sorted.
pub(crate) fn plan_slot_from(
    conn: &mut Conn,
    rules: &RuleSet,
    account: &Account,
    platform: &Platform,
    request: &ScheduleRequest,
    exclude: Option<&str>,
    mut read: Option<Vec<DateTime<Utc>>>,
) -> Result<Plan> {
    request.check_range()?;
    let (from, first_until) = first_span(rules, platform, request)
        .ok_or_else(|| Rejection::UnknownPlatform(platform.to_string()))?;
    let start = request
        .requested_for
        .unwrap_or(request.now)
        .max(request.now);
    let latest = scheduler_core::latest_supported();
    let mut until = first_until;
    loop {
        let times = match read.take() {
            Some(times) => times,
            None => post_times(conn, account, platform, (from, until), exclude)?,
        };
        if let Some(plan) = plan_among(rules, account, platform, request, &times, until)? {
            return Ok(plan);
        }
        until = (start + (until - start) * 2).min(latest);
    }
}

/// The plan for `request` among `times`, the account's posts up to `until` (sorted), if those
/// posts are all it depends on; `None` if it needs posts after `until`.
pub(crate) fn plan_among(
    rules: &RuleSet,
    account: &Account,
    platform: &Platform,
    request: &ScheduleRequest,
    times: &[DateTime<Utc>],
    until: DateTime<Utc>,
) -> Result<Option<Plan>> {
    let posts = Posts::new(times).expect("the posts come sorted");
    let plan = rules.plan(platform, account.timezone, request, posts)?;
    let complete = plan.needs_posts_until <= until || until == scheduler_core::latest_supported();
    Ok(complete.then_some(plan))
}

/// Plans each account's series occurrences (sorted by instant) among its active posts and the
/// occurrences planned before them ([`scheduler_core::plan_occurrences`]), the accounts' posts
/// read in one statement for all of them. The caller holds the accounts' locks when it writes
/// the result. An account whose plans need posts past what was read (a cap full for days) is
/// read again alone over a span that doubles, as [`plan_slot`] does.
pub(crate) fn plan_occurrences_for(
    conn: &mut Conn,
    rules: &RuleSet,
    work: &[(&Account, Vec<ToPlan>)],
    now: DateTime<Utc>,
) -> Result<Vec<Vec<PlannedOccurrence>>> {
    let latest = scheduler_core::latest_supported();
    let span = |account: &Account, occurrences: &[ToPlan], extra: TimeDelta| {
        let reach = rules
            .get(&account.platform)
            .map_or(TimeDelta::zero(), |r| r.reach());
        let first = occurrences
            .iter()
            .map(|o| o.occurrence.at)
            .min()
            .unwrap_or(now)
            .max(now);
        let last = occurrences
            .iter()
            .map(|o| o.occurrence.at)
            .max()
            .unwrap_or(now)
            .max(now);
        let from = first - reach - TimeDelta::seconds(1);
        let until = (last + extra + reach).min(latest);
        (from, until)
    };
    let plan_with = |account: &Account, occurrences: &[ToPlan], times: &[DateTime<Utc>]| {
        let posts = Posts::new(times).expect("post times are sorted");
        match rules.get(&account.platform) {
            Some(platform_rules) => plan_occurrences(
                platform_rules,
                rules.horizon(),
                account.timezone,
                occurrences,
                posts,
                now,
            ),
            None => occurrences
                .iter()
                .map(|o| PlannedOccurrence {
                    occurrence: o.occurrence,
                    plan: Err(Rejection::UnknownPlatform(account.platform.to_string())),
                })
                .collect(),
        }
    };
    let needs_more = |planned: &[PlannedOccurrence], until: DateTime<Utc>| {
        until < latest
            && planned.iter().any(|p| {
                p.plan
                    .as_ref()
                    .is_ok_and(|plan| plan.needs_posts_until > until)
            })
    };

    let busy: Vec<&(&Account, Vec<ToPlan>)> = work.iter().filter(|(_, o)| !o.is_empty()).collect();
    let Some((from, until)) = busy
        .iter()
        .map(|(account, occurrences)| span(account, occurrences, TimeDelta::days(2)))
        .reduce(|(f1, u1), (f2, u2)| (f1.min(f2), u1.max(u2)))
    else {
        return Ok(work.iter().map(|_| Vec::new()).collect());
    };
    let accounts: Vec<&Account> = busy.iter().map(|(a, _)| *a).collect();
    let mut posts = accounts_post_times(conn, &accounts, (from, until))?;

    let mut result = Vec::with_capacity(work.len());
    for (account, occurrences) in work {
        if occurrences.is_empty() {
            result.push(Vec::new());
            continue;
        }
        let times = posts.remove(&account.id);
        let mut planned = plan_with(account, occurrences, times.as_deref().unwrap_or_default());
        let mut extra = TimeDelta::days(4);
        let mut until = until;
        while needs_more(&planned, until) {
            let (from, wider) = span(account, occurrences, extra);
            let times = post_times(conn, account, &account.platform, (from, wider), None)?;
            planned = plan_with(account, occurrences, &times);
            until = wider;
            extra = extra * 2;
        }
        result.push(planned);
    }
    Ok(result)
}

/// Post times by account (on its platform).
type PostsByAccount = HashMap<String, Vec<DateTime<Utc>>>;

/// The times of the active posts of each of `accounts` on its platform within `range`
/// (inclusive), sorted: [`post_times`] for many accounts. PostgreSQL: one statement, each
/// account's two index ranges read by a lateral join over the list (an `= ANY(…)` filter lets
/// the planner scan the whole table when its statistics are stale, and test every row against
/// the list); SQLite, where a statement costs no round trip: [`post_times`] for each.
fn accounts_post_times(
    conn: &mut Conn,
    accounts: &[&Account],
    (from, until): (DateTime<Utc>, DateTime<Utc>),
) -> Result<PostsByAccount> {
    let mut by_account = PostsByAccount::new();
    let Conn::Pg(c) = conn else {
        for account in accounts {
            let times = post_times(conn, account, &account.platform, (from, until), None)?;
            by_account.insert(account.id.clone(), times);
        }
        return Ok(by_account);
    };
    let active = Status::ACTIVE
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let ids: Vec<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
    let platforms: Vec<&str> = accounts.iter().map(|a| a.platform.as_str()).collect();
    let rows: Vec<AccountPost> = diesel::sql_query(format!(
        "SELECT a.id AS account, t.at FROM unnest($1::text[], $2::text[]) AS a(id, platform) \
         CROSS JOIN LATERAL ( \
           SELECT scheduled_for AS at FROM publish_logs \
           WHERE social_account_id = a.id AND platform = a.platform \
             AND scheduled_for BETWEEN $3 AND $4 AND status IN ({active}) \
           UNION ALL \
           SELECT created_at FROM publish_logs \
           WHERE social_account_id = a.id AND platform = a.platform \
             AND scheduled_for IS NULL AND created_at BETWEEN $3 AND $4 AND status IN ({active}) \
         ) AS t"
    ))
    .bind::<Array<Text>, _>(ids)
    .bind::<Array<Text>, _>(platforms)
    .bind::<Timestamp, _>(from.naive_utc())
    .bind::<Timestamp, _>(until.naive_utc())
    .load(c)?;
    for row in rows {
        by_account
            .entry(row.account)
            .or_default()
            .push(row.at.and_utc());
    }
    for times in by_account.values_mut() {
        times.sort_unstable();
    }
    Ok(by_account)
}

/// A row of [`accounts_post_times`]' statement.
#[derive(QueryableByName)]
struct AccountPost {
    #[diesel(sql_type = Text)]
    account: String,
    #[diesel(sql_type = Timestamp)]
    at: NaiveDateTime,
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
pub(crate) fn post_times(
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
