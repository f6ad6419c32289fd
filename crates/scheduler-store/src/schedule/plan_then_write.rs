//! PostgreSQL's common schedule in two round trips and no transaction of its own: read the
//! account, the clip and the posts without the account's lock, plan, then write in one
//! statement that takes the lock and writes only if the account's posts are still the ones
//! planned among (the migrations' `schedule_peek` and `schedule_commit`).
//!
//! Why it is as safe as planning under the lock: the plan depends on the request, the rules,
//! the account (which never changes) and the posts of the span read, nothing else; the write
//! happens under the lock, after every writer that held it before committed, and only if those
//! posts are unchanged, so the plan is the one a writer holding the lock all along would make.
//! A refusal is made from one snapshot, so it is one a serial order of the writers would make.

use chrono::{DateTime, SubsecRound, Utc};
use scheduler_core::{Platform, Priority, RuleSet, ScheduleRequest};

use super::{accept, log_row, new_log_events, NewSchedule, Scheduled, Strategy};
use crate::account_lock::{account_with_clip_and_posts, PostsRead};
use crate::calendar::{first_span, plan_among};
use crate::conn::Conn;
use crate::error::Result;
use crate::new_log::insert_log_if_posts;
use crate::new_ordered_id;

/// How many times a schedule plans again among the posts another writer changed before it
/// writes under the lock as the other requests do ([`super::schedule_one`]): a busy account
/// costs a few round trips at most, never a livelock.
const ATTEMPTS: usize = 3;

/// Schedules `request` so, if it is the common request on PostgreSQL (the earliest slot, no
/// displacement, planned within its first span); `None` if it is not, or if other writers kept
/// changing the account's posts, and nothing was written: the caller schedules it under the
/// lock. A refusal is returned as for [`super::schedule`].
pub(super) fn schedule(
    conn: &mut Conn,
    rules: &RuleSet,
    request: &NewSchedule,
    now: DateTime<Utc>,
) -> Result<Option<Scheduled>> {
    if !matches!(conn, Conn::Pg(_))
        || request.strategy != Strategy::Earliest
        || request.priority == Priority::High
    {
        return Ok(None);
    }
    let plan_request = ScheduleRequest {
        requested_for: request.scheduled_for,
        window_end: request.scheduled_window_end,
        now,
    };
    let Some(span) = Platform::parse(&request.platform)
        .ok()
        .and_then(|platform| first_span(rules, &platform, &plan_request))
    else {
        return Ok(None);
    };
    let ids = (
        request.clip_id.as_str(),
        request.social_account_id.as_str(),
        request.platform.as_str(),
    );
    let found = match conn {
        Conn::Pg(c) => account_with_clip_and_posts(c, ids.1, ids.0, span, PostsRead::Peek)?,
        Conn::Sqlite(_) => return Ok(None),
    }
    .map(|(account, clip, posts)| (account, clip, Some(posts)));
    let (account, platform, posts) = accept(conn, ids, found)?;
    let Conn::Pg(c) = conn else { return Ok(None) };
    let mut posts = posts.unwrap_or_default();
    let id = new_ordered_id("log");
    let now = now.trunc_subsecs(0);
    for _ in 0..ATTEMPTS {
        let Some(plan) = plan_among(rules, &account, &platform, &plan_request, &posts, span.1)?
        else {
            return Ok(None);
        };
        let events = new_log_events(&id, request, &account, &platform, &plan, now);
        let row = log_row(&id, request, &account, &platform, &plan, now);
        match insert_log_if_posts(c, &row, &events, span, &posts)? {
            None => {
                return Ok(Some(Scheduled {
                    log: row.stored(),
                    reason: plan.reason,
                }))
            }
            Some(changed) => posts = changed,
        }
    }
    Ok(None)
}
