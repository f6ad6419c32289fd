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

/// How many writes a schedule tries, each planned among the posts the one before found, before
/// it schedules under the lock as the other requests do ([`super::schedule`]'s transaction): a
/// busy account costs a few round trips at most, never a livelock.
const TRIES: usize = 3;

/// Schedules `request` this way if it is the common request on PostgreSQL (the earliest slot,
/// no displacement, planned within its first span). `None`, with nothing written, if it is not,
/// or if other writers changed the account's posts at every try: the caller then schedules it
/// under the lock. A refusal is returned as [`super::schedule`] returns it.
pub(super) fn schedule(
    conn: &mut Conn,
    rules: &RuleSet,
    request: &NewSchedule,
    now: DateTime<Utc>,
) -> Result<Option<Scheduled>> {
    let Conn::Pg(c) = conn else { return Ok(None) };
    if request.strategy != Strategy::Earliest || request.priority == Priority::High {
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
    let (clip_id, account_id) = (&request.clip_id, &request.social_account_id);
    let found = account_with_clip_and_posts(c, account_id, clip_id, span, PostsRead::Peek)?
        .map(|(account, clip, posts)| (account, clip, Some(posts)));
    let (account, platform, posts) = accept(conn, (clip_id, account_id, &request.platform), found)?;
    let Conn::Pg(c) = conn else { return Ok(None) };
    let mut posts = posts.unwrap_or_default();
    let id = new_ordered_id("log");
    let now = now.trunc_subsecs(0);
    for _ in 0..TRIES {
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
