//! The planner: the earliest instant at or after the requested time that is inside the
//! platform's window, at least the gap from every other post, and within the daily cap.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, TimeDelta, Timelike, Utc};
use thiserror::Error;

use crate::platform::Platform;
use crate::rules::{next_day, Horizon, PlatformRules, RuleSet, Window};
use crate::zone::{WallTime, Zone};

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
    /// An error unless every instant lies in [`SUPPORTED_YEARS`]. [`plan`] checks this first;
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

    /// The times.
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
    /// The client's `scheduled_window_end`, or the end of the window occurrence holding the
    /// slot.
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
    /// The platform has no rules.
    #[error("Unknown platform: {0}")]
    UnknownPlatform(Platform),
    /// The requested time is more than [`PAST_TOLERANCE`] before `now`.
    #[error("scheduled_for is in the past: {}", rfc3339(*.0))]
    InThePast(DateTime<Utc>),
    /// No valid slot at or before the client's `scheduled_window_end`.
    #[error("No available slot before scheduled_window_end {}", rfc3339(*.0))]
    AfterWindowEnd(DateTime<Utc>),
    /// No valid slot within the horizon of the requested time.
    #[error("No available slot within {0} days")]
    BeyondHorizon(u16),
    /// An instant outside the years the scheduler plans in ([`SUPPORTED_YEARS`]).
    #[error("{field} is out of range: {} (supported: years 1970 to 9999)", rfc3339(*.at))]
    OutOfRange {
        /// Which input: `scheduled_for`, `scheduled_window_end` or `now`.
        field: &'static str,
        /// The instant.
        at: DateTime<Utc>,
    },
}

/// The years the planner accepts for `now`, the requested time and the window end. Every
/// instant it computes then stays far inside chrono's range, so no arithmetic can overflow.
pub const SUPPORTED_YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

fn check_range(field: &'static str, at: Option<DateTime<Utc>>) -> Result<(), Rejection> {
    match at {
        Some(at) if !SUPPORTED_YEARS.contains(&at.year()) => {
            Err(Rejection::OutOfRange { field, at })
        }
        _ => Ok(()),
    }
}

/// An instant as the contract writes it: RFC 3339, UTC with `Z`, whole seconds.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Rounds up to a whole second (a slot is never earlier than asked for).
pub fn ceil_to_second(t: DateTime<Utc>) -> DateTime<Utc> {
    let whole = t.timestamp();
    let secs = if t.timestamp_subsec_nanos() > 0 {
        whole + 1
    } else {
        whole
    };
    DateTime::from_timestamp(secs, 0).unwrap_or(t)
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
            .ok_or_else(|| Rejection::UnknownPlatform(platform.clone()))?;
        plan(rules, self.horizon(), zone, request, others)
    }
}

/// A window occurrence as instants, `[start, end)`.
#[derive(Debug, Clone, Copy)]
struct Occurrence {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

/// The first run of `window` in `zone` that ends after `t` (it may start after `t`): among the
/// runs ending after `t`, the one with the earliest instant at or after `t`.
///
/// An instant is inside the window when the account's wall clock reads a time in one day's
/// `[start, end)`. A run is a stretch of such instants within one day's occurrence; a day has
/// one, or more when clocks go back across a bound.
fn occurrence_ending_after(window: Window, zone: Zone, t: DateTime<Utc>) -> Occurrence {
    // An occurrence that opened the local day before may still be running (crossing midnight).
    let mut day: NaiveDate = zone
        .local(t)
        .date()
        .pred_opt()
        .expect("dates stay far from chrono's limits");
    // The best run so far, and whether the clock reaches its end by running (not by a jump).
    let mut best: Option<(Occurrence, bool)> = None;
    let from = |run: Occurrence| run.start.max(t);
    loop {
        let runs = DayRuns::new(window, zone, day);
        for run in runs.iter() {
            if run.end > t && best.is_none_or(|(b, _)| from(run) < from(b)) {
                best = Some((run, runs.plain_end));
            }
        }
        if let Some((run, plain_end)) = best {
            // A later day's runs start after this day's end, unless clocks go back across it:
            // Casey going back from 00:00 to 21:00 reads a 23:00–22:00 window's start twice,
            // and the day before's end too; that day's second run comes after this day's first.
            if run.start <= t || !runs.end_repeats {
                // A clock that reaches the end by running reads it: outside the window.
                return if plain_end {
                    run
                } else {
                    run_on(window, zone, run)
                };
            }
        }
        day = next_day(day);
    }
}

/// `run`, longer while the wall clock at its end still reads inside another day's occurrence:
/// clocks jumped over the only closed hour (a 02:00–01:00 window on a night 01:00–03:00 is
/// skipped), or back into the day before's window (Casey, a 23:00–22:00 window, 00:00 → 21:00).
/// The clock never left the window, so neither did the run. A whole-day window ends at each
/// midnight all the same.
fn run_on(window: Window, zone: Zone, mut run: Occurrence) -> Occurrence {
    if window.start_hour() == window.end_hour() % 24 {
        return run;
    }
    loop {
        let local = zone.local(run.end);
        if !window.contains_hour(local.hour()) {
            return run;
        }
        // The day whose occurrence holds that local time.
        let day = if window.crosses_midnight() && local.hour() < u32::from(window.end_hour()) {
            local
                .date()
                .pred_opt()
                .expect("dates stay far from chrono's limits")
        } else {
            local.date()
        };
        let end = run.end;
        match DayRuns::new(window, zone, day)
            .iter()
            .find(|r| r.start <= end && end < r.end)
        {
            Some(next) => run.end = next.end,
            // Unreachable while the clock reads inside that day's occurrence; stop all the same.
            None => return run,
        }
    }
}

/// The runs of one day's window occurrence, in order.
#[derive(Debug)]
struct DayRuns {
    runs: [Occurrence; 3],
    len: usize,
    /// Whether the wall clock reads the occurrence's end twice.
    end_repeats: bool,
    /// Whether the one run ends where the clock reads the occurrence's end once.
    plain_end: bool,
}

impl DayRuns {
    fn new(window: Window, zone: Zone, day: NaiveDate) -> Self {
        let (start, end) = window.local_bounds(day);
        let (s, e) = (zone.wall_time(start), zone.wall_time(end));
        let none = Occurrence {
            start: DateTime::<Utc>::MIN_UTC,
            end: DateTime::<Utc>::MIN_UTC,
        };
        let mut runs = DayRuns {
            runs: [none; 3],
            len: 0,
            end_repeats: matches!(e, WallTime::Twice { .. }),
            plain_end: matches!(
                (s, e),
                (WallTime::Once(_) | WallTime::Skipped(_), WallTime::Once(_))
            ),
        };
        match (s, e) {
            (
                WallTime::Once(s) | WallTime::Skipped(s),
                WallTime::Once(e) | WallTime::Skipped(e),
            ) => {
                // The clock passes each bound once (or jumps over it at the transition): one
                // run, empty when a transition swallows the whole window (a 02–03 window on
                // the night clocks skip 02:00–03:00).
                runs.push(s, e);
            }
            _ => {
                // Clocks go back across a bound, so the clock can leave the window and enter
                // it again. Whether it reads a time inside changes only at the bounds'
                // instants and at the transitions: test each span between them at its start.
                let mut points = [DateTime::<Utc>::MIN_UTC; 6];
                let mut len = 0;
                for bound in [s, e] {
                    let instants = match bound {
                        WallTime::Once(t) | WallTime::Skipped(t) => [Some(t), None, None],
                        WallTime::Twice {
                            first,
                            back,
                            second,
                        } => [Some(first), Some(back), Some(second)],
                    };
                    for t in instants.into_iter().flatten() {
                        points[len] = t;
                        len += 1;
                    }
                }
                let points = &mut points[..len];
                points.sort_unstable();
                // Before the first point the clock reads earlier than `start`; from the last
                // on, `end` or later. Both hold while the bounds' own transitions are the only
                // ones near that day, as in every zone from 1970 to 2040 (no two offset changes
                // lie within four days of each other there). Six points make five spans, and
                // touching runs join, so a day has at most three runs.
                for span in points.windows(2) {
                    let local = zone.local(span[0]);
                    if start <= local && local < end {
                        runs.push(span[0], span[1]);
                    }
                }
            }
        }
        runs
    }

    /// Adds `[start, end)` after the runs so far, joined to the last one when they touch.
    fn push(&mut self, start: DateTime<Utc>, end: DateTime<Utc>) {
        if start >= end {
            return;
        }
        match self.len.checked_sub(1).map(|last| &mut self.runs[last]) {
            Some(last) if last.end == start => last.end = end,
            _ => {
                self.runs[self.len] = Occurrence { start, end };
                self.len += 1;
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = Occurrence> + '_ {
        self.runs[..self.len].iter().copied()
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
    let window_end = request.window_end;
    let limit = requested_for + horizon.duration();
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
            return Err(Rejection::BeyondHorizon(horizon.days()));
        }
        let occurrence = occurrence_ending_after(rules.window, zone, t);
        if occurrence.start > t {
            moved(AdjustmentKind::Window, t, occurrence.start);
            t = occurrence.start;
            continue;
        }
        if let Some(post) = gap_conflict(rules, others, t) {
            let to = post + rules.min_gap.duration();
            moved(AdjustmentKind::Gap, t, to);
            t = to;
            continue;
        }
        if let Some(first) = cap_conflict(rules, others, t) {
            let to = first + TimeDelta::hours(24);
            moved(AdjustmentKind::DailyCap, t, to);
            t = to;
            continue;
        }
        let reason = reason(rules, zone, &adjustments);
        return Ok(Plan {
            scheduled_for: t,
            scheduled_window_end: window_end.unwrap_or(occurrence.end),
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
