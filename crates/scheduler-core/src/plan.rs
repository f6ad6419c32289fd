//! The planner: the earliest instant at or after the requested time that is inside the
//! platform's window, at least the gap from every other post, and within the daily cap.

use std::fmt::Write as _;

use chrono::{DateTime, TimeDelta, Utc};
use thiserror::Error;

use crate::occurrence::occurrence_ending_after;
use crate::platform::Platform;
use crate::rule_set::RuleSet;
use crate::rules::{Horizon, PlatformRules};
use crate::time::{ceil_to_second, floor_to_second, is_supported, latest_supported, rfc3339};
use crate::zone::Zone;

/// How far in the past a requested time may be and still be planned from `now` (clock skew
/// between a client and the server).
pub const PAST_TOLERANCE: TimeDelta = TimeDelta::seconds(60);

/// What a client asks for, with the current time as an input (the core has no clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleRequest {
    /// When to publish; `None` means the next free slot from `now`.
    pub requested_for: Option<DateTime<Utc>>,
    /// The latest acceptable slot; `None` means any slot within the horizon.
    pub window_end: Option<DateTime<Utc>>,
    /// The current time.
    pub now: DateTime<Utc>,
}

impl ScheduleRequest {
    /// An error unless every instant lies in [`crate::SUPPORTED_YEARS`]. [`plan`] checks this first;
    /// a caller that computes with the instants before planning (to read posts near them) can
    /// check first too.
    pub fn check_range(&self) -> Result<(), Rejection> {
        check_range("now", Some(self.now))?;
        check_range("scheduled_for", self.requested_for)?;
        check_range("scheduled_window_end", self.window_end)
    }
}

/// The times of the account's other posts on the platform, sorted ascending.
///
/// The planner binary-searches them, so sortedness is checked once when the value is built.
/// The slice may be a part of the account's posts: every post within [`PlatformRules::reach`]
/// of the planned slot must be in it (see [`Plan::needs_posts_until`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Posts<'a>(&'a [DateTime<Utc>]);

/// The posts given to [`Posts::new`] were not in ascending order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("post times must be sorted ascending (index {index} is earlier than the one before it)")]
pub struct UnsortedPosts {
    /// The first index out of order.
    pub index: usize,
}

impl<'a> Posts<'a> {
    /// Checks that `times` are sorted ascending.
    pub fn new(times: &'a [DateTime<Utc>]) -> Result<Self, UnsortedPosts> {
        match times.windows(2).position(|w| w[0] > w[1]) {
            Some(i) => Err(UnsortedPosts { index: i + 1 }),
            None => Ok(Self(times)),
        }
    }

    /// The times, sorted ascending.
    pub fn as_slice(&self) -> &'a [DateTime<Utc>] {
        self.0
    }

    /// Index of the first post at or after `t`.
    fn first_at_or_after(&self, t: DateTime<Utc>) -> usize {
        self.0.partition_point(|p| *p < t)
    }

    /// Index of the first post after `t`.
    fn first_after(&self, t: DateTime<Utc>) -> usize {
        self.0.partition_point(|p| *p <= t)
    }
}

/// What moved a slot forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdjustmentKind {
    /// The requested time was up to [`PAST_TOLERANCE`] in the past; planning starts at `now`.
    FromPast,
    /// Outside the window: moved to the start of the next window occurrence.
    Window,
    /// Closer than the minimum gap to another post: moved to that post plus the gap.
    Gap,
    /// A 24-hour interval would hold more posts than the daily cap: moved past it.
    DailyCap,
}

/// One move of the slot, from one instant to a later one. Consecutive moves of one kind are
/// merged into one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adjustment {
    /// What moved it.
    pub kind: AdjustmentKind,
    /// The slot before the move.
    pub from: DateTime<Utc>,
    /// The slot after the move.
    pub to: DateTime<Utc>,
}

/// A planned slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The slot: whole seconds, UTC.
    pub scheduled_for: DateTime<Utc>,
    /// The client's `scheduled_window_end` (rounded down to a whole second), or the end of the
    /// window occurrence holding the slot. Never after [`crate::latest_supported`], as the slot.
    pub scheduled_window_end: DateTime<Utc>,
    /// What was asked for, in whole seconds (rounded up): the requested time, or `now` when
    /// none was given.
    pub requested_for: DateTime<Utc>,
    /// Every move from `requested_for` to `scheduled_for`, in order.
    pub adjustments: Vec<Adjustment>,
    /// The moves in plain English, one clause per kind joined with `; `, or
    /// `Scheduled as requested`.
    pub reason: String,
    /// The planner looked at posts up to this instant; a caller that passed only part of the
    /// account's posts must pass every post up to here for the plan to hold.
    pub needs_posts_until: DateTime<Utc>,
}

impl Plan {
    /// Whether the slot differs from what was asked for.
    pub fn is_adjusted(&self) -> bool {
        self.scheduled_for != self.requested_for
    }
}

/// Why no slot was planned. The messages are the contract's rejection reasons.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Rejection {
    /// The platform has no rules (or is no platform name at all; the name as given, cut to
    /// a readable length).
    #[error("Unknown platform: {0}")]
    UnknownPlatform(String),
    /// The requested time is more than [`PAST_TOLERANCE`] before `now`.
    #[error("scheduled_for is in the past: {}", rfc3339(*.0))]
    InThePast(DateTime<Utc>),
    /// No valid slot at or before the client's `scheduled_window_end`.
    #[error("No available slot before scheduled_window_end {}", rfc3339(*.0))]
    AfterWindowEnd(DateTime<Utc>),
    /// A series' occurrence has no valid slot before the series' next occurrence.
    #[error("No available slot before the series' next occurrence at {}", rfc3339(*.0))]
    BeforeNextOccurrence(DateTime<Utc>),
    /// No valid slot within the horizon of the requested time.
    #[error("No available slot within {0} days")]
    BeyondHorizon(u16),
    /// `strategy: "best"` found no free slot in its span.
    #[error("No free slot in the {days} days from {}", rfc3339(*from))]
    NoFreeSlot {
        /// The span's start.
        from: DateTime<Utc>,
        /// Its length.
        days: u32,
    },
    /// No valid slot whose window ends by the last supported instant
    /// ([`crate::latest_supported`]).
    #[error("No available slot before {}, the end of the supported years", rfc3339(*.0))]
    BeyondSupportedRange(DateTime<Utc>),
    /// An instant outside the years the scheduler plans in ([`crate::SUPPORTED_YEARS`]).
    #[error("{field} is out of range: {} (supported: years 1970 to 9999)", rfc3339(*.at))]
    OutOfRange {
        /// Which input: `scheduled_for`, `scheduled_window_end` or `now`.
        field: &'static str,
        /// The instant.
        at: DateTime<Utc>,
    },
}

fn check_range(field: &'static str, at: Option<DateTime<Utc>>) -> Result<(), Rejection> {
    match at {
        Some(at) if !is_supported(at) => Err(Rejection::OutOfRange { field, at }),
        _ => Ok(()),
    }
}

impl RuleSet {
    /// Plans a post of `platform` for an account in `zone`, given the account's other posts on
    /// that platform.
    pub fn plan(
        &self,
        platform: &Platform,
        zone: Zone,
        request: &ScheduleRequest,
        others: Posts<'_>,
    ) -> Result<Plan, Rejection> {
        let rules = self
            .get(platform)
            .ok_or_else(|| Rejection::UnknownPlatform(platform.to_string()))?;
        plan(rules, self.horizon(), zone, request, others)
    }

    /// The platform named `name` (any ASCII case), if it has rules; else the rejection
    /// `Unknown platform: <name>`.
    pub fn known_platform(&self, name: &str) -> Result<Platform, Rejection> {
        Platform::parse(name)
            .ok()
            .filter(|p| self.get(p).is_some())
            .ok_or_else(|| Rejection::UnknownPlatform(crate::shown(name)))
    }
}

/// The latest other post closer than the gap to `t`, if any.
fn gap_conflict(
    rules: &PlatformRules,
    posts: Posts<'_>,
    t: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let gap = rules.min_gap.duration();
    if gap.is_zero() {
        return None;
    }
    let first = posts.first_after(t - gap);
    let end = posts.first_at_or_after(t + gap);
    (first < end).then(|| posts.0[end - 1])
}

/// If a slot at `t` would put more than the cap's posts in some 24-hour interval, the latest
/// earliest-post among such intervals: the slot cannot be valid before that post + 24 h.
fn cap_conflict(
    rules: &PlatformRules,
    posts: Posts<'_>,
    t: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let cap = rules.daily_cap?.posts();
    let all = posts.0;
    if all.len() < cap {
        return None;
    }
    let day = TimeDelta::hours(24);
    // The runs of `cap` consecutive posts that can share a 24-hour interval with `t` are the
    // ones touching its insertion point `j`: starting from `j - cap` to `j`.
    let j = posts.first_at_or_after(t);
    let lowest = j.saturating_sub(cap);
    let highest = j.min(all.len() - cap);
    (lowest..=highest).rev().find_map(|i| {
        let (first, last) = (all[i], all[i + cap - 1]);
        let span = last.max(t) - first.min(t);
        (span < day).then_some(first)
    })
}

/// Plans one post under one platform's rules. See [`RuleSet::plan`].
///
/// Cost: each step is a window lookup, two binary searches for the gap and, with a daily cap of
/// `N`, `O(N)` comparisons; a plan of `k` moves costs `O(k·(log n + N))` for `n` posts.
pub fn plan(
    rules: &PlatformRules,
    horizon: Horizon,
    zone: Zone,
    request: &ScheduleRequest,
    others: Posts<'_>,
) -> Result<Plan, Rejection> {
    request.check_range()?;
    let now = ceil_to_second(request.now);
    let requested_for = request.requested_for.map_or(now, ceil_to_second);
    if requested_for < now - PAST_TOLERANCE {
        return Err(Rejection::InThePast(requested_for));
    }
    // A slot is in whole seconds, so the latest acceptable one is the window end rounded down.
    let window_end = request.window_end.map(floor_to_second);
    let latest = latest_supported();
    let horizon_end = requested_for + horizon.duration();
    let limit = horizon_end.min(latest);
    let too_late = || {
        if horizon_end > latest {
            Rejection::BeyondSupportedRange(latest)
        } else {
            Rejection::BeyondHorizon(horizon.days())
        }
    };
    let mut adjustments: Vec<Adjustment> = Vec::new();
    let mut moved = |kind, from, to| match adjustments.last_mut() {
        Some(last) if last.kind == kind => last.to = to,
        _ => adjustments.push(Adjustment { kind, from, to }),
    };

    let mut t = requested_for;
    if t < now {
        moved(AdjustmentKind::FromPast, t, now);
        t = now;
    }
    loop {
        if let Some(end) = window_end.filter(|end| t > *end) {
            return Err(Rejection::AfterWindowEnd(end));
        }
        if t > limit {
            return Err(too_late());
        }
        let occurrence = occurrence_ending_after(rules.window, zone, t);
        if occurrence.start > t {
            moved(AdjustmentKind::Window, t, occurrence.start);
            t = occurrence.start;
            continue;
        }
        // A post may be given with a fraction of a second; a slot never has one.
        if let Some(post) = gap_conflict(rules, others, t) {
            let to = ceil_to_second(post + rules.min_gap.duration());
            moved(AdjustmentKind::Gap, t, to);
            t = to;
            continue;
        }
        if let Some(first) = cap_conflict(rules, others, t) {
            let to = ceil_to_second(first + TimeDelta::hours(24));
            moved(AdjustmentKind::DailyCap, t, to);
            t = to;
            continue;
        }
        let scheduled_window_end = window_end.unwrap_or(occurrence.end);
        if scheduled_window_end > latest {
            // Every later slot's window ends later still.
            return Err(Rejection::BeyondSupportedRange(latest));
        }
        let reason = reason(rules, zone, &adjustments);
        return Ok(Plan {
            scheduled_for: t,
            scheduled_window_end,
            requested_for,
            adjustments,
            reason,
            needs_posts_until: t + rules.reach(),
        });
    }
}

/// The reason text: one clause per kind of move, in the order each kind first moved the slot.
fn reason(rules: &PlatformRules, zone: Zone, adjustments: &[Adjustment]) -> String {
    let mut kinds: Vec<AdjustmentKind> = Vec::new();
    for a in adjustments {
        if !kinds.contains(&a.kind) {
            kinds.push(a.kind);
        }
    }
    if kinds.is_empty() {
        return "Scheduled as requested".to_owned();
    }
    let clauses: Vec<String> = kinds
        .into_iter()
        .map(|kind| match kind {
            AdjustmentKind::FromPast => "Moved from a past time to now".to_owned(),
            AdjustmentKind::Window => format!(
                "Moved to window start {:02}:00 {}",
                rules.window.start_hour(),
                zone.name()
            ),
            AdjustmentKind::Gap => {
                let total: TimeDelta = adjustments
                    .iter()
                    .filter(|a| a.kind == AdjustmentKind::Gap)
                    .map(|a| a.to - a.from)
                    .sum();
                format!(
                    "Adjusted {} forward to respect {}min gap",
                    minutes(total),
                    rules.min_gap.minutes()
                )
            }
            AdjustmentKind::DailyCap => format!(
                "Moved forward to respect {} posts per 24h",
                rules.daily_cap.map_or(0, |c| c.posts())
            ),
        })
        .collect();
    clauses.join("; ")
}

/// `5min`, or `4min 30s` when the seconds are not whole minutes.
fn minutes(d: TimeDelta) -> String {
    let secs = d.num_seconds();
    let mut text = format!("{}min", secs / 60);
    if secs % 60 != 0 {
        let _ = write!(text, " {}s", secs % 60);
    }
    text
}
