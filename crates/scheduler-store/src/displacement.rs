//! Priority's displacement (contract section 12) in the store: the account's posts as
//! [`scheduler_core::plan_with_priority`] needs them, and the moves it plans written with their
//! events, in the caller's transaction under the account's lock.

use chrono::{DateTime, NaiveDateTime, SubsecRound, TimeDelta, Utc};
use diesel::prelude::*;
use scheduler_core::{
    plan_with_priority, Neighbour, Plan, Platform, Priority, Rejection, RuleSet, ScheduleRequest,
};

use crate::conn::{on_backend, Conn};
use crate::error::{Result, StoreError};
use crate::events::{insert_events, NewEvent, Rescheduled};
use crate::models::{Account, PublishLog, Status};

/// Plans a post of `priority` for `account`, and writes the moves of the posts it displaces
/// (each with `publish_scheduled_rescheduled`): the new post's plan, and each displaced log as
/// it now stands. The caller holds the account's lock and writes the new post `new_id` with
/// the plan.
pub(crate) fn plan_and_displace(
    conn: &mut Conn,
    rules: &RuleSet,
    account: &Account,
    platform: &Platform,
    request: &ScheduleRequest,
    priority: Priority,
    new_id: &str,
) -> Result<(Plan, Vec<PublishLog>)> {
    request.check_range()?;
    let platform_rules = rules
        .get(platform)
        .ok_or_else(|| Rejection::UnknownPlatform(platform.to_string()))?;
    let start = request
        .requested_for
        .unwrap_or(request.now)
        .max(request.now);
    // A post the new one displaces was within reach of it, and its new slot depends on posts
    // within reach of its old one: so twice the reach before the start, and everything after.
    let from = start - platform_rules.reach() * 2 - TimeDelta::seconds(1);
    let (ids, neighbours) = neighbours(conn, account, platform, from)?;
    let planned = plan_with_priority(
        platform_rules,
        rules.horizon(),
        account.timezone,
        request,
        priority,
        &neighbours,
        Some(from),
        new_id,
    )?;
    let now = request.now.trunc_subsecs(0);
    let mut events = Vec::with_capacity(planned.displaced.len());
    let mut moved_logs = Vec::with_capacity(planned.displaced.len());
    for moved in &planned.displaced {
        use crate::schema::publish_logs::dsl as p;
        let update = diesel::update(
            p::publish_logs
                .find(&ids[moved.index])
                .filter(p::status.eq(Status::Scheduled.as_str())),
        )
        .set((
            p::scheduled_for.eq(moved.plan.scheduled_for.naive_utc()),
            p::scheduled_window_end.eq(moved.plan.scheduled_window_end.naive_utc()),
            p::reason.eq(&moved.plan.reason),
            p::updated_at.eq(now.naive_utc()),
        ));
        // Every change of a scheduled post takes the account's lock, which the caller holds:
        // the post is as it was read.
        let log: PublishLog = on_backend!(conn, |c| update
            .returning(PublishLog::as_returning())
            .get_result(c)
            .optional())?
        .ok_or_else(|| {
            StoreError::InvalidState(format!(
                "log {} changed while a higher-priority post was planned; try again",
                ids[moved.index]
            ))
        })?;
        events.push(NewEvent::about_log(
            &log.id,
            &Rescheduled {
                clip_id: &log.clip_id,
                new_scheduled_for: moved.plan.scheduled_for,
                old_scheduled_for: Some(moved.from),
                platform: log.platform.as_str(),
                reason: &moved.plan.reason,
                social_account_id: &log.social_account_id,
            },
            now,
        ));
        moved_logs.push(log);
    }
    insert_events(conn, &events)?;
    Ok((planned.plan, moved_logs))
}

/// The account's active posts on the platform at or after `from`, sorted by time (ties by id):
/// their ids, and what displacement needs of each. Two index ranges, as the planner's read
/// (`calendar::post_times`): logs by `scheduled_for`, and logs without one by `created_at`.
fn neighbours(
    conn: &mut Conn,
    account: &Account,
    platform: &Platform,
    from: DateTime<Utc>,
) -> Result<(Vec<String>, Vec<Neighbour>)> {
    use crate::schema::publish_logs::dsl as p;
    let from = from.naive_utc();
    let active: Vec<&str> = Status::ACTIVE.iter().map(|s| s.as_str()).collect();
    let posts = || {
        p::publish_logs
            .filter(p::social_account_id.eq(&account.id))
            .filter(p::platform.eq(platform.as_str()))
            .filter(p::status.eq_any(active.clone()))
    };
    type Row = (
        String,
        Option<NaiveDateTime>,
        String,
        i16,
        Option<NaiveDateTime>,
        bool,
    );
    let timed = posts().filter(p::scheduled_for.ge(from)).select((
        p::id,
        p::scheduled_for,
        p::status,
        p::priority,
        p::scheduled_window_end,
        p::window_end_given,
    ));
    let mut rows: Vec<Row> = on_backend!(conn, |c| timed.load(c))?;
    let untimed = posts()
        .filter(p::scheduled_for.is_null())
        .filter(p::created_at.ge(from))
        .select((
            p::id,
            p::created_at.nullable(),
            p::status,
            p::priority,
            p::scheduled_window_end,
            p::window_end_given,
        ));
    rows.extend(on_backend!(conn, |c| untimed.load::<Row>(c))?);
    let mut posts = Vec::with_capacity(rows.len());
    for (id, at, status, rank, window_end, given) in rows {
        let Some(at) = at else { continue };
        let priority = Priority::try_from(rank).map_err(|_| {
            StoreError::Corrupt(format!("publish log {id} has the priority {rank}"))
        })?;
        let neighbour = Neighbour {
            at: at.and_utc(),
            priority,
            scheduled: status == Status::Scheduled.as_str(),
            window_end: window_end.filter(|_| given).map(|t| t.and_utc()),
        };
        posts.push((id, neighbour));
    }
    posts.sort_by(|(a_id, a), (b_id, b)| a.at.cmp(&b.at).then_with(|| a_id.cmp(b_id)));
    Ok(posts.into_iter().unzip())
}
