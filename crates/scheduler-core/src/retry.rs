//! When a failed publish is tried again: the attempts a platform allows and the backoff
//! between them. The planner then moves the retry's earliest time into the window, past the
//! gap and under the cap, like any other post.

use chrono::{DateTime, TimeDelta, Utc};

use crate::plan::ScheduleRequest;
use crate::rules::RuleError;

/// How a platform's failed publishes are retried: at most `max_attempts` attempts, and after
/// attempt n a backoff of `base × 4^(n−1)`, at most [`RetryPolicy::MAX_BACKOFF`], spread by
/// ±10 % jitter so that posts that failed together are not retried together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RetryPolicy {
    max_attempts: u16,
    base_seconds: u32,
}

impl Default for RetryPolicy {
    /// Five attempts, a base of 60 seconds.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_seconds: 60,
        }
    }
}

impl RetryPolicy {
    /// The longest backoff: six hours.
    pub const MAX_BACKOFF: TimeDelta = TimeDelta::hours(6);

    /// A policy of `max_attempts` (`1..=100`) attempts with a base of `base_seconds`
    /// (`1..=21600`), or why not.
    pub fn new(max_attempts: u16, base_seconds: u32) -> Result<Self, RuleError> {
        if !(1..=100).contains(&max_attempts) {
            return Err(RuleError::out_of_range(
                "max_attempts",
                i64::from(max_attempts),
                "1..=100",
            ));
        }
        if !(1..=21_600).contains(&base_seconds) {
            return Err(RuleError::out_of_range(
                "retry_base_seconds",
                i64::from(base_seconds),
                "1..=21600",
            ));
        }
        Ok(Self {
            max_attempts,
            base_seconds,
        })
    }

    /// The most attempts a post gets before it fails for good.
    pub fn max_attempts(&self) -> u16 {
        self.max_attempts
    }

    /// The backoff after attempt 1.
    pub fn base_seconds(&self) -> u32 {
        self.base_seconds
    }

    /// Whether a post whose attempt `attempt` (counted from 1) failed may be tried again.
    pub fn allows_another(&self, attempt: u32) -> bool {
        attempt < u32::from(self.max_attempts)
    }

    /// How long to wait after attempt `attempt` (counted from 1; 0 is read as 1) failed.
    /// `jitter` in `-1.0..=1.0` (clamped; NaN is 0) spreads it by up to ±10 %; the result is
    /// whole seconds, at least one.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> TimeDelta {
        let exponent = attempt.saturating_sub(1).min(16);
        let max = Self::MAX_BACKOFF.num_seconds() as f64;
        let plain = (f64::from(self.base_seconds) * 4f64.powi(exponent as i32)).min(max);
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(-1.0, 1.0)
        };
        let seconds = (plain * (1.0 + 0.1 * jitter)).round().max(1.0);
        TimeDelta::seconds(seconds as i64)
    }

    /// What to plan after attempt `attempt` failed at `now`: the earliest time is `now` plus
    /// the [`backoff`](Self::backoff), with no window end of its own (the planner gives the
    /// window's). Planned like any request, it lands in the window, past the gap and under
    /// the cap: a retry never posts at 3 a.m.
    pub fn retry_request(&self, attempt: u32, jitter: f64, now: DateTime<Utc>) -> ScheduleRequest {
        ScheduleRequest {
            requested_for: Some(now + self.backoff(attempt, jitter)),
            window_end: None,
            now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_grows_fourfold_to_six_hours_and_jitters_by_a_tenth() {
        let policy = RetryPolicy::default();
        let check = |attempt: u32, jitter: f64, expected: i64| {
            assert_eq!(
                policy.backoff(attempt, jitter),
                TimeDelta::seconds(expected),
                "attempt {attempt}, jitter {jitter}"
            );
        };
        check(0, 0.0, 60);
        check(1, 0.0, 60);
        check(2, 0.0, 240);
        check(3, 0.0, 960);
        check(5, 0.0, 15_360);
        check(6, 0.0, 21_600);
        check(u32::MAX, 0.0, 21_600);
        check(1, 1.0, 66);
        check(1, -1.0, 54);
        check(3, 1.0, 1_056);
        check(6, 1.0, 23_760);
        check(1, 7.0, 66);
        check(1, f64::NAN, 60);
        assert_eq!(
            RetryPolicy::new(1, 1).unwrap().backoff(1, -1.0),
            TimeDelta::seconds(1)
        );
    }

    #[test]
    fn attempts_stop_at_the_maximum() {
        let policy = RetryPolicy::new(3, 60).unwrap();
        assert!(policy.allows_another(1));
        assert!(policy.allows_another(2));
        assert!(!policy.allows_another(3));
        assert!(!RetryPolicy::new(1, 60).unwrap().allows_another(1));
        assert!(RetryPolicy::new(0, 60).is_err());
        assert!(RetryPolicy::new(101, 60).is_err());
        assert!(RetryPolicy::new(5, 0).is_err());
        assert!(RetryPolicy::new(5, 21_601).is_err());
    }
}
