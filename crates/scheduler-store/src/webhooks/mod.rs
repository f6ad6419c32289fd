//! Webhooks (contract section 9): subscriptions, and the deliveries of ledger events to them.
//!
//! Delivery reads the ledger's feed ([`crate::ledger::feed`]), so that no event is missed:
//!
//! - [`fan_out`] reads the feed after each subscription's position and makes one delivery row
//!   per matching event, advancing the position in the same transaction (a deliverer killed
//!   meanwhile rolls back both, and the next one reads the same events again; a row made twice
//!   is one row, by its key).
//! - [`claim_deliveries`] takes the due deliveries of one subscription with a lease: the
//!   claim counts the attempt, gives the rows a token, and sets their next attempt to when
//!   the lease ends. Any number of deliverers claim at once; each row goes to one of them, and
//!   a row whose deliverer died is due again when its lease ends (at least once).
//! - [`report_deliveries`] records the answers, fenced by the token: a report about rows
//!   another deliverer has claimed since changes nothing.
//!
//! Subscriptions are few and each delivery is a row, so a slow receiver's rows wait for it
//! while other subscriptions' rows are claimed by other tasks. The clock is the database's on
//! PostgreSQL (one clock for every host, as for the tick) and the host's on SQLite.

mod deliveries;
mod fanout;
mod subscriptions;

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::events::EventType;
use crate::models::{stored_names, LedgerEvent, MaybeUtcTime, UtcTime};
use crate::schema::webhook_deliveries;

pub use deliveries::{
    claim_deliveries, due_subscriptions, list_deliveries, report_deliveries, retry_delivery,
};
pub use fanout::{fan_out, fan_out_waiting, FanOut};
pub use subscriptions::{
    create_subscription, delete_subscription, get_subscription, list_subscriptions,
};

/// The most deliveries one [`claim_deliveries`] takes.
pub const MAX_CLAIM: u32 = 100;
/// The most deliveries a [`list_deliveries`] page holds.
pub const MAX_PAGE: u32 = 500;
/// The deliveries a page holds when no limit is given.
pub const DEFAULT_PAGE: u32 = 100;
/// The most bytes of a receiver's answer kept.
pub const MAX_RESPONSE_BYTES: usize = 1024;
/// The most bytes of an attempt's error kept.
pub const MAX_ERROR_BYTES: usize = 1024;

stored_names! {
    /// Where a delivery is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum DeliveryStatus in "status" {
        /// Waiting for its next attempt, or being attempted.
        Pending = "pending",
        /// A receiver answered 2xx.
        Delivered = "delivered",
        /// Every attempt of the retry schedule failed: retried only by hand.
        Failed = "failed",
    }
}

/// A subscription to the ledger's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// `wh_…`.
    pub id: String,
    /// Where events are posted.
    pub url: String,
    /// The event types delivered; `None`: every type.
    pub event_types: Option<Vec<EventType>>,
    /// The subscriber's words.
    pub description: Option<String>,
    /// `whsec_` and the base64 key the deliveries are signed with.
    pub secret: String,
    /// When it was made: events written after it are delivered.
    pub created_at: DateTime<Utc>,
}

impl Subscription {
    /// Whether events of `event_type` go to this subscription.
    pub fn wants(&self, event_type: &str) -> bool {
        self.event_types
            .as_ref()
            .is_none_or(|types| types.iter().any(|t| t.as_str() == event_type))
    }
}

/// A subscription to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscription {
    /// Where events are posted (checked by the caller: the store keeps what it is given).
    pub url: String,
    /// The event types delivered; `None`: every type.
    pub event_types: Option<Vec<EventType>>,
    /// The subscriber's words.
    pub description: Option<String>,
    /// The signing secret, `whsec_…`.
    pub secret: String,
}

/// One event's delivery to one subscription.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct Delivery {
    /// The subscription.
    pub subscription_id: String,
    /// The event's place in the ledger.
    pub event_seq: i64,
    /// The event (`evt_…`): the `webhook-id` receivers drop duplicates by.
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// Where the delivery is.
    #[diesel(deserialize_as = String)]
    pub status: DeliveryStatus,
    /// Attempts begun since it was made or retried by hand.
    pub attempts: i32,
    /// Pending: when it is tried next (while an attempt runs, when that attempt's lease ends).
    #[diesel(deserialize_as = MaybeUtcTime)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's last HTTP status, if it answered.
    pub last_status: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The receiver's last answer, cut to [`MAX_RESPONSE_BYTES`].
    pub last_response: Option<String>,
    /// When it was made.
    #[diesel(deserialize_as = UtcTime)]
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    #[diesel(deserialize_as = UtcTime)]
    pub updated_at: DateTime<Utc>,
    /// When a receiver took it.
    #[diesel(deserialize_as = MaybeUtcTime)]
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A page of deliveries, newest event first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPage {
    /// The deliveries.
    pub deliveries: Vec<Delivery>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<i64>,
}

/// Which deliveries [`list_deliveries`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFilter {
    /// Only deliveries in this status.
    pub status: Option<DeliveryStatus>,
    /// Only deliveries of events before this place in the ledger (a page's `next`).
    pub before: Option<i64>,
    /// At most this many (clamped to `1..=`[`MAX_PAGE`]).
    pub limit: u32,
}

impl Default for DeliveryFilter {
    fn default() -> Self {
        Self {
            status: None,
            before: None,
            limit: DEFAULT_PAGE,
        }
    }
}

/// A delivery claimed for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// The event to deliver.
    pub event: LedgerEvent,
    /// Which attempt this is, from 1.
    pub attempt: i32,
}

/// The deliveries of one subscription claimed together, and the token that holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryClaim {
    /// The subscription.
    pub subscription_id: String,
    /// The token every report about these deliveries carries.
    pub lease_token: String,
    /// The deliveries, oldest due first.
    pub deliveries: Vec<ClaimedDelivery>,
}

/// What one attempt got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempted {
    /// The event's place in the ledger.
    pub event_seq: i64,
    /// Which attempt (as claimed).
    pub attempt: i32,
    /// Whether the receiver took it (a 2xx answer in time).
    pub delivered: bool,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why it failed (cut to [`MAX_ERROR_BYTES`] when stored).
    pub error: Option<String>,
    /// The start of the receiver's answer (cut to [`MAX_RESPONSE_BYTES`] when stored).
    pub response: Option<String>,
}

/// How long after each failed attempt the next one is made: after the last, the delivery is
/// `failed`. The contract's: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (eight attempts over
/// about 27.5 hours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

impl Default for RetrySchedule {
    fn default() -> Self {
        const MINUTE: u64 = 60;
        const HOUR: u64 = 60 * MINUTE;
        Self(
            [
                5,
                5 * MINUTE,
                30 * MINUTE,
                2 * HOUR,
                5 * HOUR,
                10 * HOUR,
                10 * HOUR,
            ]
            .into_iter()
            .map(Duration::from_secs)
            .collect(),
        )
    }
}

/// A retry schedule that is not a list of durations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid retry schedule {given:?}: {why} (write it as 5s,5m,30m,2h,5h,10h,10h)")]
pub struct BadSchedule {
    given: String,
    why: String,
}

impl RetrySchedule {
    /// The most retries a schedule lists.
    pub const MAX_RETRIES: usize = 50;
    /// The longest wait between two attempts: a week.
    pub const MAX_WAIT: Duration = Duration::from_secs(7 * 24 * 3600);

    /// The waits, in order.
    pub fn waits(&self) -> &[Duration] {
        &self.0
    }

    /// How long to wait after failed attempt `attempt` (from 1); `None` when it was the last.
    pub fn after(&self, attempt: i32) -> Option<Duration> {
        let index = usize::try_from(attempt).ok()?.checked_sub(1)?;
        self.0.get(index).copied()
    }
}

impl std::str::FromStr for RetrySchedule {
    type Err = BadSchedule;

    /// Comma-separated durations, each a whole number and a unit: `s`, `m`, `h` or `d`. An
    /// empty text is no retry at all.
    fn from_str(text: &str) -> Result<Self, BadSchedule> {
        let bad = |why: String| BadSchedule {
            given: text.to_owned(),
            why,
        };
        if text.trim().is_empty() {
            return Ok(Self(Vec::new()));
        }
        let waits = text
            .split(',')
            .map(|part| {
                let part = part.trim();
                let split = part
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(part.len());
                let (digits, unit) = part.split_at(split);
                let unit_secs = match unit {
                    "s" => 1,
                    "m" => 60,
                    "h" => 3600,
                    "d" => 86_400,
                    _ => return Err(bad(format!("{part:?} needs a unit: s, m, h or d"))),
                };
                let n: u64 = digits
                    .parse()
                    .map_err(|_| bad(format!("{part:?} does not start with a whole number")))?;
                let wait = Duration::from_secs(n.saturating_mul(unit_secs));
                if wait.is_zero() || wait > Self::MAX_WAIT {
                    return Err(bad(format!("{part:?} is not between 1s and 7d")));
                }
                Ok(wait)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if waits.len() > Self::MAX_RETRIES {
            return Err(bad(format!("more than {} retries", Self::MAX_RETRIES)));
        }
        Ok(Self(waits))
    }
}

impl std::fmt::Display for RetrySchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|wait| {
                let secs = wait.as_secs();
                match secs {
                    s if s % 86_400 == 0 => format!("{}d", s / 86_400),
                    s if s % 3600 == 0 => format!("{}h", s / 3600),
                    s if s % 60 == 0 => format!("{}m", s / 60),
                    s => format!("{s}s"),
                }
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// `text` as a column can keep it: cut to at most `max` bytes at a character boundary, each
/// NUL (which a receiver may send and no PostgreSQL text can hold) replaced by U+FFFD.
pub(crate) fn storable(text: &str, max: usize) -> String {
    let mut text = text.replace('\0', "\u{fffd}");
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_schedules_read_back_what_they_wrote() {
        let default = RetrySchedule::default();
        assert_eq!(default.to_string(), "5s,5m,30m,2h,5h,10h,10h");
        assert_eq!("5s,5m,30m,2h,5h,10h,10h".parse(), Ok(default.clone()));
        assert_eq!(default.after(1), Some(Duration::from_secs(5)));
        assert_eq!(default.after(7), Some(Duration::from_secs(36_000)));
        assert_eq!(default.after(8), None);
        assert_eq!(default.after(0), None);
        assert_eq!(
            " 1s, 2d ".parse::<RetrySchedule>().unwrap().to_string(),
            "1s,2d"
        );
        assert_eq!("".parse::<RetrySchedule>().unwrap().after(1), None);
        for bad in ["5", "5x", "s", "-5s", "0s", "8d", "1s,,2s", "1.5s"] {
            assert!(bad.parse::<RetrySchedule>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn stored_text_keeps_whole_characters_and_no_nul() {
        assert_eq!(storable("abc", 5), "abc");
        assert_eq!(storable("abc", 2), "ab");
        assert_eq!(storable("aé", 2), "a");
        assert_eq!(storable("ok\0bin", 10), "ok\u{fffd}bin");
    }
}
