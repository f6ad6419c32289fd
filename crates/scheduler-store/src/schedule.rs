//! Scheduling new posts: one, or a batch planned in order.
//!
//! Each post is validated, planned in its account's calendar ([`crate::calendar`]) and written
//! with its ledger events in one write transaction, serialized per account
//! ([`crate::account_lock`]), so concurrent requests on one account always see each other's
//! posts.

use chrono::{DateTime, SubsecRound, Utc};
use scheduler_core::{Plan, Platform, Priority, RuleSet, ScheduleRequest};

use crate::account_lock::{
    account_with_clip, account_with_clip_and_posts, lock_accounts, PostsRead,
};
use crate::accounts::clip_exists_or;
use crate::calendar::{first_span, plan_slot_from};
use crate::conn::{write_transaction, Conn};
use crate::displacement::plan_and_displace;
use crate::error::{Refusal, RefusalKind, Result, StoreError};
use crate::events::{Adjusted, Created, NewEvent};
use crate::models::{Account, PublishLog, ScheduledBy, Status};
use crate::new_log::{insert_log, LogRow};
use crate::new_ordered_id;
use crate::suggestions::plan_best_slot;

mod plan_then_write;

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
    /// How much it matters: a `High` post may displace lower-priority scheduled ones.
    pub priority: Priority,
    /// How the slot is chosen.
    pub strategy: Strategy,
}

/// How a request's slot is chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Strategy {
    /// The earliest valid slot at or after the requested time (the seed's).
    #[default]
    Earliest,
    /// The best free slot by engagement history in the `within_days` days from the requested
    /// time (contract section 13). It takes a free slot: it never displaces another post.
    Best {
        /// How many days to look in (1 to [`scheduler_core::MAX_SPAN_DAYS`]; others count as
        /// the nearest of the two).
        within_days: u32,
    },
}

/// A scheduled (or rescheduled) log and why its time differs from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    /// The log as stored.
    pub log: PublishLog,
    /// The planner's reason, e.g. `Adjusted 5min forward to respect 60min gap`.
    pub reason: String,
}

impl Scheduled {
    /// Whether the rules moved the post from the time asked for (its
    /// `publish_scheduled_adjusted` event says so too).
    pub fn is_adjusted(&self) -> bool {
        self.log.scheduled_for != self.log.requested_for
    }
}

/// One result of [`schedule_batch`]: the scheduled log, or why not.
pub type BatchItem = std::result::Result<Scheduled, Refusal>;

/// Schedules one post, atomically: in one write transaction (see [`write_transaction`]), or on
/// PostgreSQL, for the common request, in one statement after an unlocked read
/// ([`plan_then_write`]); either way under the account's lock, so the caller needs no
/// transaction of its own. A rejection ([`StoreError::Rejected`]) writes nothing.
pub fn schedule(
    conn: &mut Conn,
    rules: &RuleSet,
    request: &NewSchedule,
    now: DateTime<Utc>,
) -> Result<Scheduled> {
    if let Some(scheduled) = plan_then_write::schedule(conn, rules, request, now)? {
        return Ok(scheduled);
    }
    write_transaction(conn, |conn| {
        schedule_one(conn, rules, request, now, AccountLock::Take).map(|(scheduled, _)| scheduled)
    })
}

/// Schedules several posts in order in one write transaction; later ones see earlier ones.
/// Each item is scheduled or rejected on its own (a rejection writes nothing: every check
/// comes before the first write); a database error fails the whole batch. An answer tells
/// where its post ended: a later high item that displaced it updates it.
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
        let mut results: Vec<BatchItem> = Vec::with_capacity(requests.len());
        for request in requests {
            match schedule_one(conn, rules, request, now, AccountLock::Held) {
                Ok((scheduled, displaced)) => {
                    for moved in displaced {
                        let earlier = results.iter_mut().flatten().find(|s| s.log.id == moved.id);
                        if let Some(earlier) = earlier {
                            earlier.reason = moved.reason.clone().unwrap_or_default();
                            earlier.log = moved;
                        }
                    }
                    results.push(Ok(scheduled));
                }
                Err(StoreError::Rejected(refusal)) => results.push(Err(refusal)),
                Err(other) => return Err(other),
            }
        }
        Ok(results)
    })
}

/// Whether [`schedule_one`] takes the account's lock or the caller already holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AccountLock {
    Take,
    Held,
}

/// Validates, plans and writes one post, under the account's lock: the post, and the logs a
/// high post displaced as they now stand. Every rejection comes before the first write.
fn schedule_one(
    conn: &mut Conn,
    rules: &RuleSet,
    request: &NewSchedule,
    now: DateTime<Utc>,
    lock: AccountLock,
) -> Result<(Scheduled, Vec<PublishLog>)> {
    let plan_request = ScheduleRequest {
        requested_for: request.scheduled_for,
        window_end: request.scheduled_window_end,
        now,
    };
    // The common request (the earliest slot, no displacement) plans among the posts of its
    // first span: on PostgreSQL they are read with the account and its lock.
    let ordinary = request.strategy == Strategy::Earliest && request.priority != Priority::High;
    let span = Platform::parse(&request.platform)
        .ok()
        .filter(|_| ordinary)
        .and_then(|platform| first_span(rules, &platform, &plan_request));
    let (account, platform, posts) = target_with_posts(
        conn,
        (
            &request.clip_id,
            &request.social_account_id,
            &request.platform,
        ),
        // A batch holds the lock already; taking it again in the statement that reads the
        // posts costs nothing (advisory locks stack within a transaction).
        lock == AccountLock::Take || span.is_some(),
        span,
    )?;
    let id = new_ordered_id("log");
    // Only a high post can displace; the others are planned from the posts near them alone.
    let (plan, displaced) = match request.strategy {
        Strategy::Best { within_days } => (
            plan_best_slot(conn, rules, &account, &plan_request, within_days)?,
            Vec::new(),
        ),
        Strategy::Earliest if request.priority == Priority::High => plan_and_displace(
            conn,
            rules,
            &account,
            &platform,
            &plan_request,
            request.priority,
            &id,
        )?,
        Strategy::Earliest => (
            plan_slot_from(conn, rules, &account, &platform, &plan_request, None, posts)?,
            Vec::new(),
        ),
    };

    let now = now.trunc_subsecs(0);
    let events = new_log_events(&id, request, &account, &platform, &plan, now);
    let row = log_row(&id, request, &account, &platform, &plan, now);
    let log = insert_log(conn, &row, &events)?;
    Ok((
        Scheduled {
            log,
            reason: plan.reason,
        },
        displaced,
    ))
}

/// A new log's ledger events: created, and adjusted when the plan moved it.
fn new_log_events(
    id: &str,
    request: &NewSchedule,
    account: &Account,
    platform: &Platform,
    plan: &Plan,
    now: DateTime<Utc>,
) -> Vec<NewEvent> {
    let mut events = vec![NewEvent::about_log(
        id,
        &Created {
            clip_id: &request.clip_id,
            occurrence: None,
            platform: platform.as_str(),
            requested_for: plan.requested_for,
            scheduled_by: request.scheduled_by.as_str(),
            scheduled_for: plan.scheduled_for,
            scheduled_window_end: plan.scheduled_window_end,
            series_id: None,
            social_account_id: &account.id,
            status: Status::Scheduled.as_str(),
        },
        now,
    )];
    if plan.is_adjusted() {
        events.push(NewEvent::about_log(
            id,
            &Adjusted {
                adjusted_time: plan.scheduled_for,
                clip_id: &request.clip_id,
                original_time: plan.requested_for,
                platform: platform.as_str(),
                reason: &plan.reason,
            },
            now,
        ));
    }
    events
}

/// A new log's columns.
fn log_row<'a>(
    id: &'a str,
    request: &'a NewSchedule,
    account: &'a Account,
    platform: &'a Platform,
    plan: &'a Plan,
    now: DateTime<Utc>,
) -> LogRow<'a> {
    LogRow {
        id,
        clip_id: &request.clip_id,
        platform,
        social_account_id: &account.id,
        plan,
        scheduled_by: request.scheduled_by,
        now,
        priority: request.priority,
        window_end_given: request.scheduled_window_end.is_some(),
    }
}

/// The account and platform a request for `clip_id` on `account_id` names, once both exist and
/// the platform is the account's; else the refusal, the clip's first. With `lock`, the
/// account's lock is taken in the same statement (see [`account_with_clip`]).
pub(crate) fn target(
    conn: &mut Conn,
    clip_id: &str,
    account_id: &str,
    platform: &str,
    lock: bool,
) -> Result<(Account, Platform)> {
    target_with_posts(conn, (clip_id, account_id, platform), lock, None)
        .map(|(account, platform, _)| (account, platform))
}

/// A request's account and platform, and (PostgreSQL) the account's posts read with them.
type Target = (Account, Platform, Option<Vec<DateTime<Utc>>>);

/// What the statement that looks for a target found: the account, whether the clip exists, and
/// the posts if it read them.
type Found = (Account, bool, Option<Vec<DateTime<Utc>>>);

/// [`target`], and on PostgreSQL with `lock`, the account's active posts on its platform within
/// `posts_in` (sorted) read in the same round trip (a request naming another platform is
/// refused after), after the lock (see
/// [`account_with_clip_and_posts`]); SQLite, where a statement costs no round trip, reads them
/// when it plans.
fn target_with_posts(
    conn: &mut Conn,
    (clip_id, account_id, platform): (&str, &str, &str),
    lock: bool,
    posts_in: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<Target> {
    // The account, whether the clip exists and (PostgreSQL) the account's lock, in one
    // statement, with the posts when asked; the clip's error comes first.
    let found = match (&mut *conn, lock, posts_in) {
        (Conn::Pg(c), true, Some(span)) => {
            account_with_clip_and_posts(c, account_id, clip_id, span, PostsRead::Locked)?
                .map(|(account, clip, posts)| (account, clip, Some(posts)))
        }
        _ => account_with_clip(conn, account_id, clip_id, lock)?
            .map(|(account, clip)| (account, clip, None)),
    };
    accept(conn, (clip_id, account_id, platform), found)
}

/// The target found (the account, whether the clip exists, the posts read with them), or the
/// refusal: the clip's first, then the account's, then the platform's.
fn accept(
    conn: &mut Conn,
    (clip_id, account_id, platform): (&str, &str, &str),
    found: Option<Found>,
) -> Result<Target> {
    let clip_missing = || {
        Refusal::new(
            RefusalKind::ClipNotFound,
            format!("Clip not found: {clip_id}"),
        )
        .into()
    };
    let (account, posts) = match found {
        Some((account, true, posts)) => (account, posts),
        Some((_, false, _)) => return Err(clip_missing()),
        None => {
            clip_exists_or(conn, clip_id, clip_missing)?;
            return Err(Refusal::new(
                RefusalKind::AccountNotFound,
                format!("Social account not found: {account_id}"),
            )
            .into());
        }
    };
    let platform = platform_of(&account, platform)?;
    Ok((account, platform, posts))
}

/// The account's platform if `platform` names it; else `platform_mismatch`.
pub(crate) fn platform_of(account: &Account, platform: &str) -> Result<Platform> {
    Platform::parse(platform)
        .ok()
        .filter(|p| *p == account.platform)
        .ok_or_else(|| {
            StoreError::from(Refusal::new(
                RefusalKind::PlatformMismatch,
                format!(
                    "Platform mismatch: account {} is on {}, not {}",
                    account.id,
                    account.platform,
                    scheduler_core::shown(platform)
                ),
            ))
        })
}
