//! The publishing scheduler's planning algorithm, with no I/O, no clock and no database.
//!
//! A client asks to publish on an account at a time. [`RuleSet::plan`] moves that time to the
//! earliest instant that is inside the platform's daily window (in the account's time zone), at
//! least the platform's minimum gap from the account's other posts, and within the optional
//! daily cap, or says why there is none. `now` and the other posts are inputs, so the result
//! depends on nothing else and other services can embed it.
//!
//! ```
//! use chrono::{DateTime, Utc};
//! use scheduler_core::{Platform, Posts, RuleSet, ScheduleRequest, Zone};
//!
//! let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
//! let rules = RuleSet::default();
//! let others = [at("2025-01-15T19:05:00Z")];
//! let request = ScheduleRequest {
//!     requested_for: Some(at("2025-01-15T20:00:00Z")),
//!     window_end: None,
//!     now: at("2025-01-14T10:00:00Z"),
//! };
//! let plan = rules
//!     .plan(&Platform::instagram(), Zone::UTC, &request, Posts::new(&others).unwrap())
//!     .unwrap();
//! assert_eq!(plan.scheduled_for, at("2025-01-15T20:05:00Z"));
//! assert_eq!(plan.reason, "Adjusted 5min forward to respect 60min gap");
//! assert_eq!(plan.scheduled_window_end, at("2025-01-15T23:00:00Z"));
//! ```

mod best_time;
mod occurrence;
mod plan;
mod platform;
mod priority;
mod recurrence;
mod retry;
mod rrule;
mod rule_set;
mod rules;
mod series_plan;
mod time;
mod zone;

pub use best_time::{
    default_shape, log_views, plan_best, score_hours, span_end, suggest, Basis, HourOfWeek, Scores,
    Suggestion, Tally, BEST_WITHIN_DAYS, DEFAULT_SPREAD, HISTORY_DAYS, HOURS_OF_WEEK,
    MAX_SPAN_DAYS, PLATFORM_HOUR_MIN_POSTS, PRIOR_STRENGTH, SLOT_STEP,
};
pub use plan::{
    plan, Adjustment, AdjustmentKind, Plan, Posts, Rejection, ScheduleRequest, UnsortedPosts,
    PAST_TOLERANCE,
};
pub use platform::{InvalidPlatform, Platform, MAX_PLATFORM_LEN};
pub use priority::{
    plan_with_priority, Displacement, InvalidPriority, Neighbour, Priority, PriorityPlan,
    DISPLACEMENT_NOTICE,
};
pub use recurrence::{
    instant as rfc5545_instant, Occurrence as SeriesOccurrence, Recurrence, Span as SeriesSpan,
};
pub use retry::RetryPolicy;
pub use rrule::{
    ByDay, Freq, Rrule, RruleError, Until, MAX_COUNT, MAX_INTERVAL, MAX_RULE_LEN, MAX_TIMES_A_DAY,
};
pub use rule_set::{RuleSet, RulesError};
pub use rules::{DailyCap, Horizon, MinGap, PlatformRules, RuleError, SeriesHorizon, Window};
pub use series_plan::{bounded_by_next, plan_occurrences, PlannedOccurrence, ToPlan};
pub use time::{
    ceil_to_second, floor_to_second, is_supported, latest_supported, local_text, parse_local,
    rfc3339, LocalTimeError, SUPPORTED_YEARS,
};
pub use zone::{InvalidZone, WallTime, Zone};

/// `text` as a message or a log line shows it: at most 64 characters, so that a hostile input
/// cannot make an answer or a log line huge.
pub fn shown(text: &str) -> String {
    text.chars().take(64).collect()
}
