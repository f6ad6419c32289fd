//! One platform's scheduling rules: its daily window, minimum gap and optional daily cap, and
//! the search horizon. Each is validated when it is made; every other part takes these types.

use std::fmt;
use std::num::NonZeroU16;

use crate::retry::RetryPolicy;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use thiserror::Error;

/// A daily posting window, `[start_hour:00, end_hour:00)` in the account's local time.
///
/// `start_hour` is `0..=23`, `end_hour` is `1..=24` (24 is midnight at the end of the day) and
/// they differ. `start_hour > end_hour` means the window crosses midnight (22 → 2 is 22:00 to
/// 02:00 the next day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    start_hour: u8,
    end_hour: u8,
}

impl Window {
    /// A window from `start_hour` to `end_hour`, or why there is none.
    pub fn new(start_hour: u8, end_hour: u8) -> Result<Self, RuleError> {
        if start_hour > 23 {
            return Err(RuleError::out_of_range(
                "start_hour",
                i64::from(start_hour),
                "0..=23",
            ));
        }
        if !(1..=24).contains(&end_hour) {
            return Err(RuleError::out_of_range(
                "end_hour",
                i64::from(end_hour),
                "1..=24",
            ));
        }
        if start_hour == end_hour {
            return Err(RuleError {
                field: "end_hour",
                problem: format!(
                    "must differ from start_hour ({start_hour}); use start_hour = 0, end_hour = 24 for the whole day"
                ),
            });
        }
        Ok(Self {
            start_hour,
            end_hour,
        })
    }

    /// The local hour the window opens.
    pub fn start_hour(&self) -> u8 {
        self.start_hour
    }

    /// The local hour the window closes (excluded); 24 is the end of the day.
    pub fn end_hour(&self) -> u8 {
        self.end_hour
    }

    /// Whether the window runs past local midnight into the next day.
    pub fn crosses_midnight(&self) -> bool {
        self.start_hour > self.end_hour
    }

    /// Whether a local wall-clock hour lies inside the window.
    pub fn contains_hour(&self, hour: u32) -> bool {
        let (s, e) = (u32::from(self.start_hour), u32::from(self.end_hour));
        if self.crosses_midnight() {
            hour >= s || hour < e
        } else {
            hour >= s && hour < e
        }
    }

    /// The local start and end of the occurrence that opens on `day`.
    pub fn local_bounds(&self, day: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
        let at = |date: NaiveDate, hour: u8| {
            date.and_time(NaiveTime::from_hms_opt(u32::from(hour), 0, 0).expect("hour < 24"))
        };
        let start = at(day, self.start_hour);
        let end = if self.end_hour == 24 {
            at(next_day(day), 0)
        } else if self.crosses_midnight() {
            at(next_day(day), self.end_hour)
        } else {
            at(day, self.end_hour)
        };
        (start, end)
    }
}

pub(crate) fn next_day(day: NaiveDate) -> NaiveDate {
    day.succ_opt().expect("dates stay far from chrono's limits")
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:00–{:02}:00", self.start_hour, self.end_hour)
    }
}

/// The minimum distance between two posts of one account on one platform, in whole minutes,
/// `0..=10080` (a week). Zero means no gap rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MinGap(u16);

impl MinGap {
    /// The largest gap accepted, one week.
    pub const MAX_MINUTES: u16 = 10_080;

    /// A gap of `minutes`, or why not.
    pub fn from_minutes(minutes: u16) -> Result<Self, RuleError> {
        if minutes > Self::MAX_MINUTES {
            return Err(RuleError::out_of_range(
                "min_gap_minutes",
                i64::from(minutes),
                "0..=10080",
            ));
        }
        Ok(Self(minutes))
    }

    /// The gap in minutes.
    pub fn minutes(&self) -> u16 {
        self.0
    }

    /// The gap as a duration.
    pub fn duration(&self) -> TimeDelta {
        TimeDelta::minutes(i64::from(self.0))
    }
}

/// The most posts any 24-hour interval may hold for one account on one platform, `1..=1440`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DailyCap(NonZeroU16);

impl DailyCap {
    /// A cap of `posts` per 24 hours, or why not.
    pub fn new(posts: u16) -> Result<Self, RuleError> {
        match NonZeroU16::new(posts) {
            Some(n) if posts <= 1440 => Ok(Self(n)),
            _ => Err(RuleError::out_of_range(
                "max_posts_per_day",
                i64::from(posts),
                "1..=1440",
            )),
        }
    }

    /// The number of posts allowed in any 24 hours.
    pub fn posts(&self) -> usize {
        usize::from(self.0.get())
    }
}

/// How far past the requested time the planner looks for a slot, in whole days `1..=3650`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Horizon(u16);

impl Horizon {
    /// A horizon of `days`, or why not.
    pub fn from_days(days: u16) -> Result<Self, RuleError> {
        if !(1..=3650).contains(&days) {
            return Err(RuleError::out_of_range(
                "max_horizon_days",
                i64::from(days),
                "1..=3650",
            ));
        }
        Ok(Self(days))
    }

    /// The horizon in days.
    pub fn days(&self) -> u16 {
        self.0
    }

    /// The horizon as a duration.
    pub fn duration(&self) -> TimeDelta {
        TimeDelta::days(i64::from(self.0))
    }
}

/// How far ahead a recurring series' occurrences are made into posts, in whole days
/// `1..=365` (the rules file's `series_horizon_days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesHorizon(u16);

impl SeriesHorizon {
    /// A horizon of `days`, or why not.
    pub fn from_days(days: u16) -> Result<Self, RuleError> {
        if !(1..=365).contains(&days) {
            return Err(RuleError::out_of_range(
                "series_horizon_days",
                i64::from(days),
                "1..=365",
            ));
        }
        Ok(Self(days))
    }

    /// The horizon in days.
    pub fn days(&self) -> u16 {
        self.0
    }

    /// The horizon as a duration.
    pub fn duration(&self) -> TimeDelta {
        TimeDelta::days(i64::from(self.0))
    }
}

impl Default for SeriesHorizon {
    /// 14 days.
    fn default() -> Self {
        Self(14)
    }
}

impl Default for Horizon {
    /// 365 days.
    fn default() -> Self {
        Self(365)
    }
}

/// One platform's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlatformRules {
    /// The daily posting window.
    pub window: Window,
    /// The minimum gap between two posts of one account.
    pub min_gap: MinGap,
    /// The optional cap on posts per rolling 24 hours.
    pub daily_cap: Option<DailyCap>,
    /// How failed publishes are tried again.
    pub retry: RetryPolicy,
}

impl PlatformRules {
    /// How far on either side of an instant other posts can matter to it: the gap, or 24 hours
    /// when a daily cap applies. Posts farther away than this from a slot cannot move it.
    pub fn reach(&self) -> TimeDelta {
        let gap = self.min_gap.duration();
        if self.daily_cap.is_some() {
            gap.max(TimeDelta::hours(24))
        } else {
            gap
        }
    }
}

/// A rule that is not valid, naming the field. [`crate::RulesError`] adds the platform.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("field `{field}` {problem}")]
pub struct RuleError {
    /// The TOML field name.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl RuleError {
    pub(crate) fn out_of_range(field: &'static str, got: i64, range: &str) -> Self {
        Self {
            field,
            problem: format!("must be in {range}, got {got}"),
        }
    }
}
