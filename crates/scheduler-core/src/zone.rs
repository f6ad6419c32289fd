//! Account time zones and the resolution of local wall-clock times to instants.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use thiserror::Error;

/// An account's time zone: a name from the IANA time zone database (`Europe/Madrid`, `UTC`).
///
/// Windows are wall-clock hours in this zone, so every occurrence is computed in the zone itself
/// and never as a fixed UTC offset: a window stays at 18:00 local across daylight-saving changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Zone(Tz);

/// Why a string is not a time zone.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown time zone {name:?}: use an IANA name such as \"UTC\" or \"America/New_York\"")]
pub struct InvalidZone {
    /// The rejected input (cut to a readable length).
    pub name: String,
}

impl Zone {
    /// UTC, the default zone of an account.
    pub const UTC: Zone = Zone(Tz::UTC);

    /// Parses an IANA zone name; an exact match first, then one that ignores ASCII case.
    /// The canonical spelling is [`Zone::name`].
    pub fn parse(input: &str) -> Result<Self, InvalidZone> {
        input
            .parse::<Tz>()
            .or_else(|_| Tz::from_str_insensitive(input))
            .map(Zone)
            .map_err(|_| InvalidZone {
                name: crate::shown(input),
            })
    }

    /// The canonical IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The local wall-clock time of an instant.
    pub fn local(&self, instant: DateTime<Utc>) -> NaiveDateTime {
        instant.with_timezone(&self.0).naive_local()
    }

    /// When the wall clock in this zone reads `local`.
    pub fn wall_time(&self, local: NaiveDateTime) -> WallTime {
        match self.0.from_local_datetime(&local) {
            LocalResult::Single(t) => WallTime::Once(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, b) => {
                let (first, second) = (a.min(b).with_timezone(&Utc), a.max(b).with_timezone(&Utc));
                WallTime::Twice {
                    first,
                    back: self.transition_between(first, second),
                    second,
                }
            }
            LocalResult::None => WallTime::Skipped(self.first_instant_at_or_after(local)),
        }
    }

    /// The offset from UTC at an instant.
    fn offset(&self, instant: DateTime<Utc>) -> TimeDelta {
        self.local(instant) - instant.naive_utc()
    }

    /// The first instant after `first` with a different offset, at or before `second`, which
    /// has one: where the clocks go back between two instants that read the same local time.
    /// The search assumes one offset change between them (they lie hours apart; no two changes
    /// lie within four days of each other in any zone from 1970 to 2040).
    fn transition_between(&self, first: DateTime<Utc>, second: DateTime<Utc>) -> DateTime<Utc> {
        let before = self.offset(first);
        first_second_where(first.timestamp(), second.timestamp(), |t| {
            self.offset(t) != before
        })
    }

    /// The first instant whose local time is at or after `local`. Offsets lie within ±15 hours,
    /// so the answer lies within 15 hours of `local` read as UTC; around a skipped interval
    /// local time only moves forward, so a binary search over seconds finds the transition.
    fn first_instant_at_or_after(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let reach = TimeDelta::hours(15);
        first_second_where(
            (local - reach).and_utc().timestamp(), // local time here is before `local`
            (local + reach).and_utc().timestamp(), // local time here is after `local`
            |t| self.local(t) >= local,
        )
    }
}

/// The first whole second in `(lo, hi]` where `holds` is true, for a `holds` false at `lo`,
/// true at `hi`, and changing once between them (a binary search).
fn first_second_where(
    mut lo: i64,
    mut hi: i64,
    holds: impl Fn(DateTime<Utc>) -> bool,
) -> DateTime<Utc> {
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if holds(instant(mid)) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    instant(hi)
}

/// When a local wall-clock time occurs, as [`Zone::wall_time`] tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WallTime {
    /// The clock reads it at one instant.
    Once(DateTime<Utc>),
    /// The clock never reads it (it goes forward over it); the instant is the transition, the
    /// first instant whose local time is later.
    Skipped(DateTime<Utc>),
    /// The clock reads it twice: at `first`, then it goes back at `back` (after `first`, at or
    /// before `second`), and reads it again at `second`.
    Twice {
        /// The first time the clock reads it.
        first: DateTime<Utc>,
        /// The instant the clock goes back.
        back: DateTime<Utc>,
        /// The second time the clock reads it.
        second: DateTime<Utc>,
    },
}

fn instant(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).expect("timestamps within ±15 h of a valid date are valid")
}

impl Default for Zone {
    fn default() -> Self {
        Self::UTC
    }
}

impl TryFrom<String> for Zone {
    type Error = InvalidZone;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl FromStr for Zone {
    type Err = InvalidZone;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
