//! RFC 5545 recurrence rules, the part the contract takes (section 10): `FREQ` `DAILY`,
//! `WEEKLY` or `MONTHLY`, `INTERVAL`, `BYDAY` (with `MONTHLY` also `1MO`, `-1FR`),
//! `BYMONTHDAY`, `BYHOUR`, `BYMINUTE`, `COUNT`, `UNTIL`, `WKST`. Parsed once into [`Rrule`];
//! any other part is refused by name.
//!
//! Long because it is one job done both ways: reading every part (each with its own bounds
//! and error) and writing the rule back in a fixed order; the two must stay in step.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc, Weekday};

/// How often the rule's period repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Freq {
    /// Every `INTERVAL` days.
    Daily,
    /// Every `INTERVAL` weeks (weeks start on `WKST`).
    Weekly,
    /// Every `INTERVAL` months.
    Monthly,
}

/// A `BYDAY` entry: a weekday, and with `MONTHLY` optionally which one of the month (`1MO`
/// the first Monday, `-1FR` the last Friday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByDay {
    /// `1..=5` from the month's start, `-5..=-1` from its end; `None`: every such weekday.
    pub nth: Option<i8>,
    /// The weekday.
    pub weekday: Weekday,
}

/// When a rule ends (`UNTIL`), inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Until {
    /// `YYYYMMDD`: through that local day.
    Date(NaiveDate),
    /// `YYYYMMDDTHHMMSS`: through that local time.
    Local(NaiveDateTime),
    /// `YYYYMMDDTHHMMSSZ`: through that instant.
    Instant(DateTime<Utc>),
}

/// A recurrence rule, parsed and checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rrule {
    pub(crate) freq: Freq,
    pub(crate) interval: u32,
    pub(crate) by_day: Vec<ByDay>,
    pub(crate) by_month_day: Vec<i8>,
    pub(crate) by_hour: Vec<u32>,
    pub(crate) by_minute: Vec<u32>,
    pub(crate) count: Option<u32>,
    pub(crate) until: Option<Until>,
    pub(crate) wkst: Weekday,
    text: String,
}

/// Why a rule is refused; the message names the part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RruleError {
    /// A part the contract does not take (`BYSETPOS`, `FREQ=YEARLY`, …).
    #[error(
        "RRULE part {0} is not supported: use FREQ (DAILY, WEEKLY or MONTHLY), INTERVAL, BYDAY, \
         BYMONTHDAY, BYHOUR, BYMINUTE, COUNT, UNTIL and WKST"
    )]
    Unsupported(String),
    /// A part whose value is wrong.
    #[error("RRULE {part}: {why}")]
    Invalid {
        /// The part.
        part: String,
        /// What is wrong.
        why: String,
    },
}

/// The most `INTERVAL` takes.
pub const MAX_INTERVAL: u32 = 1_000;
/// The most `COUNT` takes.
pub const MAX_COUNT: u32 = 100_000;
/// The longest rule text taken.
pub const MAX_RULE_LEN: usize = 1_000;
/// The most times of day a rule may give (`BYHOUR` × `BYMINUTE`): every half hour. No platform
/// takes more posts a day from one account, and a denser rule would only be planned into a
/// backlog.
pub const MAX_TIMES_A_DAY: usize = 48;

fn invalid(part: &str, why: impl Into<String>) -> RruleError {
    RruleError::Invalid {
        part: crate::shown(part),
        why: why.into(),
    }
}

fn weekday(text: &str) -> Option<Weekday> {
    Some(match text {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

/// A comma-separated list of integers in `range` (zero only when the range starts there),
/// sorted, without repeats.
fn numbers(
    part: &str,
    value: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<Vec<i64>, RruleError> {
    let list: Vec<i64> = value
        .split(',')
        .map(|n| {
            n.parse::<i64>()
                .ok()
                .filter(|n| range.contains(n) && (*n != 0 || *range.start() == 0))
                .ok_or_else(|| {
                    invalid(
                        part,
                        format!(
                            "{n:?} is not a number from {} to {}",
                            range.start(),
                            range.end()
                        ),
                    )
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(sorted(list))
}

fn sorted<T: Ord>(mut list: Vec<T>) -> Vec<T> {
    list.sort_unstable();
    list.dedup();
    list
}

fn until(value: &str) -> Result<Until, RruleError> {
    let bad = || {
        invalid(
            "UNTIL",
            format!("{value:?} is not YYYYMMDD, YYYYMMDDTHHMMSS or YYYYMMDDTHHMMSSZ"),
        )
    };
    if let Some(utc) = value.strip_suffix('Z') {
        let local = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
        return Ok(Until::Instant(local.and_utc()));
    }
    if value.len() == 8 {
        return NaiveDate::parse_from_str(value, "%Y%m%d")
            .map(Until::Date)
            .map_err(|_| bad());
    }
    NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S")
        .map(Until::Local)
        .map_err(|_| bad())
}

impl FromStr for Rrule {
    type Err = RruleError;

    /// `FREQ=WEEKLY;BYDAY=MO,WE`, with or without the `RRULE:` prefix; names and values are
    /// read case-insensitively, each part at most once.
    fn from_str(text: &str) -> Result<Self, RruleError> {
        if text.len() > MAX_RULE_LEN {
            return Err(invalid(
                "RRULE",
                format!("longer than {MAX_RULE_LEN} characters"),
            ));
        }
        let upper = text.trim().to_ascii_uppercase();
        let body = upper.strip_prefix("RRULE:").unwrap_or(&upper);
        let mut seen: Vec<String> = Vec::new();
        let mut rule = Rrule {
            freq: Freq::Daily,
            interval: 1,
            by_day: Vec::new(),
            by_month_day: Vec::new(),
            by_hour: Vec::new(),
            by_minute: Vec::new(),
            count: None,
            until: None,
            wkst: Weekday::Mon,
            text: String::new(),
        };
        for part in body.split(';').filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| invalid(part, "is not NAME=VALUE"))?;
            if seen.iter().any(|s| s == name) {
                return Err(invalid(name, "is given twice"));
            }
            seen.push(name.to_owned());
            if value.is_empty() {
                return Err(invalid(name, "has no value"));
            }
            match name {
                "FREQ" => {
                    rule.freq = match value {
                        "DAILY" => Freq::Daily,
                        "WEEKLY" => Freq::Weekly,
                        "MONTHLY" => Freq::Monthly,
                        "SECONDLY" | "MINUTELY" | "HOURLY" | "YEARLY" => {
                            return Err(RruleError::Unsupported(format!("FREQ={value}")))
                        }
                        _ => return Err(invalid("FREQ", format!("{value:?} is not a frequency"))),
                    }
                }
                "INTERVAL" => {
                    rule.interval = numbers(name, value, 1..=i64::from(MAX_INTERVAL))
                        .ok()
                        .filter(|n| n.len() == 1 && !value.contains(','))
                        .map(|n| n[0] as u32)
                        .ok_or_else(|| {
                            invalid(
                                name,
                                format!("must be a whole number from 1 to {MAX_INTERVAL}"),
                            )
                        })?;
                }
                "COUNT" => {
                    rule.count = Some(
                        numbers(name, value, 1..=i64::from(MAX_COUNT))
                            .ok()
                            .filter(|n| n.len() == 1 && !value.contains(','))
                            .map(|n| n[0] as u32)
                            .ok_or_else(|| {
                                invalid(
                                    name,
                                    format!("must be a whole number from 1 to {MAX_COUNT}"),
                                )
                            })?,
                    );
                }
                "UNTIL" => rule.until = Some(until(value)?),
                "WKST" => {
                    rule.wkst = weekday(value).ok_or_else(|| {
                        invalid(
                            name,
                            format!("{value:?} is not MO, TU, WE, TH, FR, SA or SU"),
                        )
                    })?;
                }
                "BYDAY" => {
                    rule.by_day =
                        sorted_days(value.split(',').map(by_day).collect::<Result<_, _>>()?);
                }
                "BYMONTHDAY" => {
                    rule.by_month_day = numbers(name, value, -31..=31)?
                        .into_iter()
                        .map(|n| n as i8)
                        .collect();
                }
                "BYHOUR" => {
                    rule.by_hour = numbers(name, value, 0..=23)?
                        .into_iter()
                        .map(|n| n as u32)
                        .collect();
                }
                "BYMINUTE" => {
                    rule.by_minute = numbers(name, value, 0..=59)?
                        .into_iter()
                        .map(|n| n as u32)
                        .collect();
                }
                other => return Err(RruleError::Unsupported(crate::shown(other))),
            }
        }
        if !seen.iter().any(|s| s == "FREQ") {
            return Err(invalid("FREQ", "is required"));
        }
        if rule.count.is_some() && rule.until.is_some() {
            return Err(invalid("COUNT", "and UNTIL cannot both be given"));
        }
        if rule.freq != Freq::Monthly && rule.by_day.iter().any(|d| d.nth.is_some()) {
            return Err(invalid(
                "BYDAY",
                "takes a number before the day (1MO, -1FR) only with FREQ=MONTHLY",
            ));
        }
        if rule.freq == Freq::Weekly && !rule.by_month_day.is_empty() {
            return Err(invalid("BYMONTHDAY", "cannot be used with FREQ=WEEKLY"));
        }
        let times_a_day = rule.by_hour.len().max(1) * rule.by_minute.len().max(1);
        if times_a_day > MAX_TIMES_A_DAY {
            return Err(invalid(
                "BYHOUR",
                format!(
                    "with BYMINUTE gives {times_a_day} times a day; a series posts at most \
                     {MAX_TIMES_A_DAY} times a day"
                ),
            ));
        }
        rule.text = rule.render();
        Ok(rule)
    }
}

fn by_day(text: &str) -> Result<ByDay, RruleError> {
    let bad = || {
        invalid(
            "BYDAY",
            format!("{text:?} is not a weekday (MO…SU), optionally after 1 to 5 or -1 to -5"),
        )
    };
    let split = text.len().checked_sub(2).ok_or_else(bad)?;
    let (nth, day) = text.split_at(split);
    let weekday = weekday(day).ok_or_else(bad)?;
    let nth = match nth {
        "" => None,
        n => Some(
            n.parse::<i8>()
                .ok()
                .filter(|n| (1..=5).contains(&n.abs()))
                .ok_or_else(bad)?,
        ),
    };
    Ok(ByDay { nth, weekday })
}

fn sorted_days(mut days: Vec<ByDay>) -> Vec<ByDay> {
    days.sort_unstable_by_key(|d| (d.weekday.num_days_from_monday(), d.nth));
    days.dedup();
    days
}

impl Rrule {
    /// The rule in RFC 5545's form, parts in a fixed order (`FREQ=MONTHLY;BYDAY=-1FR`).
    fn render(&self) -> String {
        let mut parts = vec![format!(
            "FREQ={}",
            match self.freq {
                Freq::Daily => "DAILY",
                Freq::Weekly => "WEEKLY",
                Freq::Monthly => "MONTHLY",
            }
        )];
        if self.interval != 1 {
            parts.push(format!("INTERVAL={}", self.interval));
        }
        let list = |values: Vec<String>| values.join(",");
        if !self.by_day.is_empty() {
            parts.push(format!(
                "BYDAY={}",
                list(
                    self.by_day
                        .iter()
                        .map(|d| format!(
                            "{}{}",
                            d.nth.map(|n| n.to_string()).unwrap_or_default(),
                            weekday_name(d.weekday)
                        ))
                        .collect()
                )
            ));
        }
        for (name, values) in [
            (
                "BYMONTHDAY",
                list(self.by_month_day.iter().map(i8::to_string).collect()),
            ),
            (
                "BYHOUR",
                list(self.by_hour.iter().map(u32::to_string).collect()),
            ),
            (
                "BYMINUTE",
                list(self.by_minute.iter().map(u32::to_string).collect()),
            ),
        ] {
            if !values.is_empty() {
                parts.push(format!("{name}={values}"));
            }
        }
        if let Some(count) = self.count {
            parts.push(format!("COUNT={count}"));
        }
        match self.until {
            Some(Until::Date(d)) => parts.push(format!("UNTIL={}", d.format("%Y%m%d"))),
            Some(Until::Local(t)) => parts.push(format!("UNTIL={}", t.format("%Y%m%dT%H%M%S"))),
            Some(Until::Instant(t)) => parts.push(format!("UNTIL={}", t.format("%Y%m%dT%H%M%SZ"))),
            None => {}
        }
        if self.wkst != Weekday::Mon {
            parts.push(format!("WKST={}", weekday_name(self.wkst)));
        }
        parts.join(";")
    }

    /// How often the period repeats.
    pub fn freq(&self) -> Freq {
        self.freq
    }

    /// How many occurrences at most (`COUNT`).
    pub fn count(&self) -> Option<u32> {
        self.count
    }

    /// When the rule ends (`UNTIL`).
    pub fn until(&self) -> Option<Until> {
        self.until
    }
}

impl fmt::Display for Rrule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
