//! The best time to post (contract section 13), as pure functions: an account's engagement
//! history scored by local hour of the week, shrunk toward the platform's average (an
//! empirical-Bayes prior, so that one lucky post does not decide), and the free slots of a span
//! ranked by that score. The store reads the history; `docs/decisions.md` ("Best time") gives
//! a worked example.

use chrono::{DateTime, Datelike, NaiveDateTime, SubsecRound, TimeDelta, Timelike, Utc};

use crate::plan::{plan, Plan, Posts, Rejection, ScheduleRequest, PAST_TOLERANCE};
use crate::rules::{Horizon, PlatformRules, Window};
use crate::time::{ceil_to_second, latest_supported};
use crate::zone::Zone;

/// Hours in a week: the buckets history is kept in.
pub const HOURS_OF_WEEK: usize = 168;

/// How many posts' worth of weight the prior has: an hour of the week with `n` posts of the
/// account's own counts `n / (n + 5)` toward them, and the rest toward the prior.
pub const PRIOR_STRENGTH: f64 = 5.0;

/// How many posts the platform needs in an hour of the week for its own average there to be
/// the prior; with fewer, the prior is the platform's (or the account's) average over all
/// hours, shaped by the window.
pub const PLATFORM_HOUR_MIN_POSTS: u32 = 10;

/// How much lower than the window's middle its edges score by default: a tenth.
pub const DEFAULT_SPREAD: f64 = 0.1;

/// Suggested slots are on the hour or the half hour.
pub const SLOT_STEP: TimeDelta = TimeDelta::minutes(30);

/// How many days of engagement history a score reads.
pub const HISTORY_DAYS: u32 = 90;

/// How many days ahead `strategy: "best"` looks unless told (`within_days`).
pub const BEST_WITHIN_DAYS: u32 = 7;

/// The longest span suggestions (`days`) and `strategy: "best"` (`within_days`) look at: a
/// month of half-hour slots.
pub const MAX_SPAN_DAYS: u32 = 31;

/// The end of a span of `days` days (1 to [`MAX_SPAN_DAYS`]; others count as the nearest of
/// the two) from `from`, never past the supported years: what suggestions and `strategy:
/// "best"` look in.
pub fn span_end(from: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let latest = latest_supported();
    from.checked_add_signed(TimeDelta::days(i64::from(days.clamp(1, MAX_SPAN_DAYS))))
        .map_or(latest, |end| end.min(latest))
}

/// An hour of the week on the account's clock: 0 is Monday 00:00–00:59, 167 Sunday 23:00–23:59.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HourOfWeek(u8);

impl HourOfWeek {
    /// The hour of the week of a local date-time.
    pub fn of(local: NaiveDateTime) -> Self {
        let day = local.weekday().num_days_from_monday() as u8;
        Self(day * 24 + local.hour() as u8)
    }

    /// The hour of the week with this index, 0 to 167; `None` past 167.
    pub fn from_index(index: u8) -> Option<Self> {
        (usize::from(index) < HOURS_OF_WEEK).then_some(Self(index))
    }

    /// 0 to 167.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// The hour of the day, 0 to 23.
    pub fn hour(self) -> u8 {
        self.0 % 24
    }
}

/// Published posts' engagement by hour of the week: for each, how many posts and the sum of
/// `ln(1 + views)`. Views are counted on a log scale, so that one viral post weighs like a
/// few good ones rather than like a thousand.
#[derive(Debug, Clone)]
pub struct Tally {
    sums: [f64; HOURS_OF_WEEK],
    counts: [u32; HOURS_OF_WEEK],
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            sums: [0.0; HOURS_OF_WEEK],
            counts: [0; HOURS_OF_WEEK],
        }
    }
}

impl Tally {
    /// Counts a post published at `local` (the account's clock) that had `views`.
    pub fn add(&mut self, local: NaiveDateTime, views: u64) {
        self.add_counted(HourOfWeek::of(local), 1, log_views(views));
    }

    /// Counts `posts` posts in hour `h` whose [`log_views`] add up to `log_views`: a tally
    /// kept elsewhere by hour (the store keeps one per day), read back.
    pub fn add_counted(&mut self, h: HourOfWeek, posts: u32, log_views: f64) {
        self.sums[h.index()] += log_views;
        self.counts[h.index()] += posts;
    }

    /// How many posts hour `h` holds and the sum of their [`log_views`].
    pub fn counted(&self, h: HourOfWeek) -> (u32, f64) {
        (self.counts[h.index()], self.sums[h.index()])
    }

    /// How many posts it holds.
    pub fn posts(&self) -> u32 {
        self.counts.iter().sum()
    }

    fn mean(&self, h: usize) -> Option<f64> {
        (self.counts[h] > 0).then(|| self.sums[h] / f64::from(self.counts[h]))
    }

    fn overall(&self) -> Option<f64> {
        let posts = self.posts();
        (posts > 0).then(|| self.sums.iter().sum::<f64>() / f64::from(posts))
    }
}

/// How a post's views count: `ln(1 + views)`, so that one viral post weighs like a few good
/// ones rather than like a thousand.
pub fn log_views(views: u64) -> f64 {
    (views as f64).ln_1p()
}

/// What a score rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The account's published posts of the last 90 days, shrunk toward the platform's.
    History,
    /// No history yet: the window's middle is best.
    Default,
}

impl Basis {
    /// `history` or `default`.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::History => "history",
            Basis::Default => "default",
        }
    }
}

/// Every hour of the week's score for one account, the best hour scoring 1.
#[derive(Debug, Clone)]
pub struct Scores {
    basis: Basis,
    per_hour: [f64; HOURS_OF_WEEK],
}

impl Scores {
    /// The score of an hour of the week: from 0 to 1, relative to the account's best hour.
    pub fn of(&self, h: HourOfWeek) -> f64 {
        self.per_hour[h.index()]
    }

    /// What the scores rest on.
    pub fn basis(&self) -> Basis {
        self.basis
    }
}

/// How good an hour of the day is by default: 1 at the window's middle, falling linearly by
/// [`DEFAULT_SPREAD`] toward its edges, and that much lower outside it.
pub fn default_shape(window: Window, hour: u8) -> f64 {
    let start = i32::from(window.start_hour());
    let end = i32::from(window.end_hour());
    // A window from 0 to 24 is the whole day.
    let length = f64::from(match (end - start).rem_euclid(24) {
        0 => 24,
        hours => hours,
    });
    if !window.contains_hour(u32::from(hour)) {
        return 1.0 - DEFAULT_SPREAD;
    }
    let position = f64::from((i32::from(hour) - start).rem_euclid(24)) + 0.5;
    let half = length / 2.0;
    1.0 - DEFAULT_SPREAD * ((position - half).abs() / half).min(1.0)
}

/// Scores the hours of the week for an account from its history (`account`) and the
/// platform's (`platform`, every account's posts, the account's own included).
///
/// Without history the basis is [`Basis::Default`] and the score is [`default_shape`]. With
/// it, an hour's estimate is `(n·m + k·p) / (n + k)`: `n` the account's posts in that hour, `m`
/// their mean `ln(1 + views)`, `k` [`PRIOR_STRENGTH`], and `p` the prior: the platform's mean
/// in that hour when it has at least [`PLATFORM_HOUR_MIN_POSTS`] posts there, else the
/// platform's mean over all hours (the account's own when the platform has none) times the
/// default shape. Each hour's score is its estimate over the best hour's.
pub fn score_hours(window: Window, account: &Tally, platform: &Tally) -> Scores {
    let shape = |h: usize| default_shape(window, HourOfWeek(h as u8).hour());
    let Some(account_overall) = account.overall() else {
        return normalised(Basis::Default, std::array::from_fn(shape));
    };
    let fallback = platform.overall().unwrap_or(account_overall);
    let estimates = std::array::from_fn(|h| {
        let prior = match platform.mean(h) {
            Some(mean) if platform.counts[h] >= PLATFORM_HOUR_MIN_POSTS => mean,
            _ => fallback * shape(h),
        };
        let n = f64::from(account.counts[h]);
        let own = account.mean(h).unwrap_or(0.0);
        (n * own + PRIOR_STRENGTH * prior) / (n + PRIOR_STRENGTH)
    });
    normalised(Basis::History, estimates)
}

fn normalised(basis: Basis, values: [f64; HOURS_OF_WEEK]) -> Scores {
    let best = values.iter().copied().fold(0.0_f64, f64::max);
    let per_hour = values.map(|v| if best > 0.0 { v / best } else { 0.0 });
    Scores { basis, per_hour }
}

/// A suggested slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Suggestion {
    /// The slot, on the hour or the half hour.
    pub at: DateTime<Utc>,
    /// Its hour of the week's score.
    pub score: f64,
    /// What the score rests on.
    pub basis: Basis,
}

impl Suggestion {
    /// Why a post scheduled by `strategy: "best"` is at this slot (contract section 13):
    /// `Best slot by engagement history (score 0.83)` or `Best slot by platform default`.
    pub fn reason(&self) -> String {
        match self.basis {
            Basis::History => format!("Best slot by engagement history (score {:.2})", self.score),
            Basis::Default => "Best slot by platform default".to_owned(),
        }
    }
}

/// The `count` best free slots in `[from, until)`, on the hour or the half hour, each valid
/// under `rules` among `posts` (a slot the planner would keep as asked), best first, earlier
/// first among equals. `posts` must hold every post within reach of the span.
#[allow(clippy::too_many_arguments)]
pub fn suggest(
    rules: &PlatformRules,
    horizon: Horizon,
    zone: Zone,
    scores: &Scores,
    posts: Posts<'_>,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
    count: usize,
) -> Vec<Suggestion> {
    let mut found = Vec::new();
    let mut t = on_local_half_hour(zone, from.max(now));
    while t < until {
        let request = ScheduleRequest {
            requested_for: Some(t),
            window_end: Some(t),
            now,
        };
        if plan(rules, horizon, zone, &request, posts).is_ok_and(|p| p.scheduled_for == t) {
            found.push(Suggestion {
                at: t,
                score: scores.of(HourOfWeek::of(zone.local(t))),
                basis: scores.basis(),
            });
        }
        t = on_local_half_hour(zone, t + SLOT_STEP);
    }
    found.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.at.cmp(&b.at)));
    found.truncate(count);
    found
}

/// The first instant at or after `t` (whole seconds) on the hour or the half hour of `zone`'s
/// clock: in Kathmandu (+05:45) that is :15 and :45 past a UTC hour.
fn on_local_half_hour(zone: Zone, t: DateTime<Utc>) -> DateTime<Utc> {
    let t = ceil_to_second(t);
    let local = zone.local(t);
    let into = i64::from(local.minute() % 30) * 60 + i64::from(local.second());
    if into == 0 {
        t
    } else {
        t + TimeDelta::seconds(SLOT_STEP.num_seconds() - into)
    }
}

/// Plans a post by `strategy: "best"`: the best free slot ([`suggest`]) from the requested
/// time (or now) for `within_days` days (1 to [`MAX_SPAN_DAYS`]; others count as the nearest
/// of the two), not after the client's window end, with the reason
/// `Best slot by engagement history (score 0.83)` or `Best slot by platform default`.
/// `requested_for` is the span's start, so a slot later than it counts as adjusted. The
/// refusals are [`plan`]'s (a start more than [`PAST_TOLERANCE`] ago, a year out of range), or
/// no free slot: [`Rejection::AfterWindowEnd`] when the window end cut the span short, else
/// [`Rejection::NoFreeSlot`]. `posts` must hold every post within reach of the span.
#[allow(clippy::too_many_arguments)]
pub fn plan_best(
    rules: &PlatformRules,
    horizon: Horizon,
    zone: Zone,
    scores: &Scores,
    request: &ScheduleRequest,
    within_days: u32,
    posts: Posts<'_>,
) -> Result<Plan, Rejection> {
    request.check_range()?;
    let now = request.now;
    let earliest = ceil_to_second(request.requested_for.unwrap_or(now));
    if earliest < now - PAST_TOLERANCE {
        return Err(Rejection::InThePast(earliest));
    }
    let within_days = within_days.clamp(1, MAX_SPAN_DAYS);
    let mut until = span_end(earliest, within_days);
    // The window end is inclusive; the span is not.
    let window_end = request.window_end.map(|end| end.trunc_subsecs(0));
    let cut = window_end.filter(|end| *end + TimeDelta::seconds(1) < until);
    if let Some(end) = cut {
        until = end + TimeDelta::seconds(1);
    }
    let no_slot = || match cut {
        Some(end) => Rejection::AfterWindowEnd(end),
        None => Rejection::NoFreeSlot {
            from: earliest,
            days: within_days,
        },
    };
    let best = suggest(
        rules,
        horizon,
        zone,
        scores,
        posts,
        (earliest, until),
        now,
        1,
    )
    .pop()
    .ok_or_else(no_slot)?;
    let at_best = ScheduleRequest {
        requested_for: Some(best.at),
        window_end: request.window_end,
        now,
    };
    let planned = plan(rules, horizon, zone, &at_best, posts)?;
    // `suggest` offers only slots the planner keeps as asked.
    if planned.scheduled_for != best.at {
        return Err(no_slot());
    }
    Ok(Plan {
        requested_for: earliest,
        adjustments: Vec::new(),
        reason: best.reason(),
        ..planned
    })
}
