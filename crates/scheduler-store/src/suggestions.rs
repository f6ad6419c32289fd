//! The best time to post (contract section 13) in the store: an account's engagement history
//! and its platform's ([`crate::engagement`]) scored by [`scheduler_core::score_hours`], and
//! the free slots of a span among the account's posts, ranked
//! ([`scheduler_core::suggest`]), or the best one planned ([`scheduler_core::plan_best`]).

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use scheduler_core::{
    plan_best, score_hours, span_end, suggest, Plan, Platform, PlatformRules, Posts, Rejection,
    RuleSet, ScheduleRequest, Scores, Suggestion, HISTORY_DAYS, MAX_SPAN_DAYS,
};

use crate::accounts::get_account;
use crate::calendar::post_times;
use crate::conn::Conn;
use crate::engagement::engagement_tallies;
use crate::error::{Refusal, RefusalKind, Result};
use crate::models::Account;
use crate::schedule::platform_of;

/// The most suggestions one request returns.
pub const MAX_SUGGESTIONS: usize = 50;

/// An account's best slots.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggested {
    /// The account, whose zone the slots' local times are in.
    pub account: Account,
    /// Best first, earlier first among equals.
    pub slots: Vec<Suggestion>,
}

/// The `count` (at most [`MAX_SUGGESTIONS`]) best free slots for `account_id` in `[from,
/// until)` (from now on, if `from` is earlier; at most [`MAX_SPAN_DAYS`] days). `platform`, if
/// given, must be the account's. Reads only.
///
/// [`crate::StoreError::NotFound`] for an unknown account; refusals for another platform, a
/// span that ended before `now` (`past_time`) or one outside the supported years.
pub fn suggestions(
    conn: &mut Conn,
    rules: &RuleSet,
    account_id: &str,
    platform: Option<&str>,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
    count: usize,
    now: DateTime<Utc>,
) -> Result<Suggested> {
    let account = get_account(conn, account_id)?;
    if let Some(platform) = platform {
        platform_of(&account, platform)?;
    }
    ScheduleRequest {
        requested_for: Some(from),
        window_end: None,
        now,
    }
    .check_range()?;
    if until <= now {
        return Err(Refusal::new(
            RefusalKind::PastTime,
            format!(
                "the span ends in the past: {}",
                scheduler_core::rfc3339(until)
            ),
        )
        .into());
    }
    let (platform_rules, scores) = scores(conn, rules, &account, now)?;
    let until = until.min(span_end(from.max(now), MAX_SPAN_DAYS));
    let times = posts_near(conn, &account, platform_rules, (from.max(now), until))?;
    let slots = suggest(
        platform_rules,
        rules.horizon(),
        account.timezone,
        &scores,
        Posts::new(&times).expect("post_times sorts its result"),
        (from, until),
        now,
        count.min(MAX_SUGGESTIONS),
    );
    Ok(Suggested { account, slots })
}

/// Plans a post for `account` by `strategy: "best"` ([`plan_best`]) among its posts. The
/// caller holds the account's lock.
pub(crate) fn plan_best_slot(
    conn: &mut Conn,
    rules: &RuleSet,
    account: &Account,
    request: &ScheduleRequest,
    within_days: u32,
) -> Result<Plan> {
    request.check_range()?;
    let (platform_rules, scores) = scores(conn, rules, account, request.now)?;
    let from = request
        .requested_for
        .unwrap_or(request.now)
        .max(request.now);
    // As `plan_best` reads it.
    let until = span_end(from, within_days);
    let times = posts_near(conn, account, platform_rules, (from, until))?;
    let posts = Posts::new(&times).expect("post_times sorts its result");
    Ok(plan_best(
        platform_rules,
        rules.horizon(),
        account.timezone,
        &scores,
        request,
        within_days,
        posts,
    )?)
}

/// The first day (UTC) of the history a suggestion at `now` reads: the day [`HISTORY_DAYS`]
/// days before, whole.
pub fn history_since(now: DateTime<Utc>) -> NaiveDate {
    (now - TimeDelta::days(i64::from(HISTORY_DAYS))).date_naive()
}

/// The account's platform's rules, and its hours' scores from the last [`HISTORY_DAYS`] days.
fn scores<'r>(
    conn: &mut Conn,
    rules: &'r RuleSet,
    account: &Account,
    now: DateTime<Utc>,
) -> Result<(&'r PlatformRules, Scores)> {
    let platform_rules = rules
        .get(&account.platform)
        .ok_or_else(|| Rejection::UnknownPlatform(account.platform.to_string()))?;
    let (own, all) = engagement_tallies(conn, account, history_since(now))?;
    Ok((
        platform_rules,
        score_hours(platform_rules.window, &own, &all),
    ))
}

/// The times of the account's posts within reach of `[from, until)`: those a slot there is
/// planned among. Never past the supported years (see `calendar::plan_slot`).
fn posts_near(
    conn: &mut Conn,
    account: &Account,
    rules: &PlatformRules,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<DateTime<Utc>>> {
    let latest = scheduler_core::latest_supported();
    let reach = rules.reach();
    let span = (
        (from - reach - TimeDelta::seconds(1)).min(latest),
        (until + reach).min(latest),
    );
    let platform: &Platform = &account.platform;
    post_times(conn, account, platform, span, None)
}
