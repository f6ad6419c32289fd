//! A series' occurrences (contract section 10): an [`Rrule`] expanded from `dtstart` into local
//! wall-clock times in the account's zone, then into instants as RFC 5545 section 3.3.5 says:
//! a local time the clocks skip is moved forward by the length of the gap (02:30 → 03:30), one
//! they read twice means the first.
//!
//! The expansion walks the rule's periods (days, weeks from `WKST`, months) `INTERVAL` apart
//! from `dtstart`'s, never from a clock: the same rule gives the same occurrences whenever it
//! is expanded. `dtstart` is always the first occurrence (RFC 5545, 3.8.5.3); `COUNT` counts
//! it; `exdates` are removed afterwards, and still count.
//!
//! Long because the walk is one piece: periods per `FREQ`, the days and times each gives, and
//! where a walk may start; planning the occurrences is `series_plan.rs`'s.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc,
};

use crate::rrule::{Freq, Rrule, Until};
use crate::series_plan::{bounded_by_next, ToPlan};
use crate::time::{latest_supported, SUPPORTED_YEARS};
use crate::zone::{WallTime, Zone};

/// Periods in a row without an occurrence after which a rule is taken to have no more (a
/// monthly rule on the 31st every 12 months from April never has one).
const EMPTY_PERIODS: u32 = 2_000;

/// One occurrence of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Occurrence {
    /// The local wall-clock time the rule gives: the occurrence's identity.
    pub local: NaiveDateTime,
    /// When it is, in the zone.
    pub at: DateTime<Utc>,
}

/// A series' rule from its start, in a zone, less its excluded dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    dtstart: NaiveDateTime,
    rule: Rrule,
    exdates: BTreeSet<NaiveDateTime>,
    zone: Zone,
}

impl Recurrence {
    /// The occurrences of `rule` from `dtstart` (local, in `zone`), without `exdates`.
    pub fn new(
        dtstart: NaiveDateTime,
        rule: Rrule,
        exdates: impl IntoIterator<Item = NaiveDateTime>,
        zone: Zone,
    ) -> Self {
        Self {
            dtstart,
            rule,
            exdates: exdates.into_iter().collect(),
            zone,
        }
    }

    /// The occurrences in order, lazily (a rule without `COUNT` or `UNTIL` has no end: take
    /// what you need). They end at the last supported instant, 9999-12-31T23:59:59Z.
    pub fn occurrences(&self) -> impl Iterator<Item = Occurrence> + '_ {
        self.walk(LocalTimes::new(self))
    }

    /// The occurrences in order from the rule's period holding `local` (or the one before):
    /// every occurrence at or after `local` and perhaps some just before. Without `COUNT` the
    /// walk starts there instead of at `dtstart`, so a series years old costs what a new one
    /// does; with `COUNT` it counts the local times from `dtstart` (at most [`crate::MAX_COUNT`],
    /// date arithmetic only) and works out instants from `local` on.
    pub fn occurrences_near(&self, local: NaiveDateTime) -> impl Iterator<Item = Occurrence> + '_ {
        let times: Box<dyn Iterator<Item = NaiveDateTime> + '_> = match self.rule.count {
            None => Box::new(LocalTimes::from_period(self, self.period_of(local))),
            Some(_) => Box::new(LocalTimes::new(self).skip_while(move |l| *l < local)),
        };
        self.walk(times)
    }

    fn walk<'a>(
        &'a self,
        times: impl Iterator<Item = NaiveDateTime> + 'a,
    ) -> impl Iterator<Item = Occurrence> + 'a {
        let latest = latest_supported();
        times
            .filter(|local| !self.exdates.contains(local))
            .map(|local| Occurrence {
                local,
                at: instant(self.zone, local),
            })
            .take_while(move |o| o.at <= latest)
    }

    /// The occurrences at or after `from`, in the rule's order.
    pub fn after(&self, from: DateTime<Utc>) -> impl Iterator<Item = Occurrence> + '_ {
        self.occurrences_near(self.zone.local(from) - ORDER_SLACK)
            .filter(move |o| o.at >= from)
    }

    /// The index of the rule's period (counted from `dtstart`'s, `INTERVAL` apart) that holds
    /// `local`, or of the one before it when `local` falls between periods; 0 before `dtstart`.
    fn period_of(&self, local: NaiveDateTime) -> u32 {
        let start = self.dtstart.date();
        let steps: i64 = match self.rule.freq {
            Freq::Daily => (local.date() - start).num_days(),
            Freq::Weekly => {
                let week_of = |day: NaiveDate| {
                    let back = (7 + day.weekday().num_days_from_monday()
                        - self.rule.wkst.num_days_from_monday())
                        % 7;
                    day - chrono::TimeDelta::days(i64::from(back))
                };
                (week_of(local.date()) - week_of(start)).num_days() / 7
            }
            Freq::Monthly => {
                let months = |day: NaiveDate| i64::from(day.year()) * 12 + i64::from(day.month0());
                months(local.date()) - months(start)
            }
        };
        u32::try_from(steps.max(0) / i64::from(self.rule.interval)).unwrap_or(u32::MAX)
    }

    /// The occurrences at or after `from` and before `to`, in the rule's order.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Occurrence> {
        self.span(from, to).within
    }

    /// The occurrences at or after `from` and before `to`, in the rule's order, and the
    /// earliest instant of an occurrence at or after `to`: where a series made up to `to`
    /// goes on.
    ///
    /// Instants do not always follow local times: a time skipped by a gap is moved forward
    /// past times the rule gives later (02:30 → 03:30 comes after 03:00). But an instant is its
    /// local time less an offset between −12 and +14 hours, so a local time more than
    /// [`ORDER_SLACK`] after another is always the later instant: the walk goes that far past
    /// `to`'s local time and past the first occurrence at or after `to`, and no further.
    pub fn span(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Span {
        let mut within = Vec::new();
        let mut next: Option<Occurrence> = None;
        let mut stop = self.zone.local(to) + ORDER_SLACK;
        for o in self.occurrences_near(self.zone.local(from) - ORDER_SLACK) {
            if next.is_some() && o.local > stop {
                break;
            }
            if o.at >= to {
                if next.is_none() {
                    stop = stop.max(o.local + ORDER_SLACK);
                }
                if next.is_none_or(|n| o.at < n.at) {
                    next = Some(o);
                }
            } else if o.at >= from {
                within.push(o);
            }
        }
        Span {
            within,
            next: next.map(|o| o.at),
        }
    }
}

/// How far apart two local times must be for their instants to be in the same order: more
/// than the 26 hours between the offsets −12:00 and +14:00.
pub const ORDER_SLACK: chrono::TimeDelta = chrono::TimeDelta::days(2);

/// What [`Recurrence::span`] finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The occurrences in the span, in the rule's order.
    pub within: Vec<Occurrence>,
    /// The earliest instant of an occurrence after the span; `None` when the rule has no more.
    pub next: Option<DateTime<Utc>>,
}

impl Span {
    /// The span's occurrences to plan, each bound by the next ([`ToPlan::bounded`]).
    pub fn to_plan(&self) -> Vec<ToPlan> {
        bounded_by_next(&self.within, self.next)
    }
}

/// When the clock in `zone` reads `local`, as RFC 5545 says: the first of two, and across a
/// gap the instant the time would have had without the gap.
pub fn instant(zone: Zone, local: NaiveDateTime) -> DateTime<Utc> {
    match zone.wall_time(local) {
        WallTime::Once(at) => at,
        WallTime::Twice { first, .. } => first,
        WallTime::Skipped(jump) => {
            let before = zone.local(jump - chrono::TimeDelta::seconds(1))
                - (jump - chrono::TimeDelta::seconds(1)).naive_utc();
            (local - before).and_utc()
        }
    }
}

/// The rule's local times in order, `dtstart` first, up to `COUNT` or `UNTIL`.
struct LocalTimes<'a> {
    series: &'a Recurrence,
    /// The next period, counted from `dtstart`'s.
    period: u32,
    /// The current period's times not yet given, in order.
    pending: std::vec::IntoIter<NaiveDateTime>,
    /// Times given so far (for `COUNT`).
    given: u32,
    /// Periods in a row that gave nothing.
    empty: u32,
    done: bool,
}

impl<'a> LocalTimes<'a> {
    fn new(series: &'a Recurrence) -> Self {
        Self {
            series,
            period: 0,
            pending: vec![series.dtstart].into_iter(),
            given: 0,
            empty: 0,
            done: false,
        }
    }

    /// From the period `period` on (`dtstart` given only from period 0); `COUNT` is not
    /// counted, so only for rules without it.
    fn from_period(series: &'a Recurrence, period: u32) -> Self {
        if period == 0 {
            return Self::new(series);
        }
        Self {
            period,
            pending: Vec::new().into_iter(),
            ..Self::new(series)
        }
    }

    /// Whether `local` is past `UNTIL`.
    fn past_until(&self, local: NaiveDateTime) -> bool {
        match self.series.rule.until {
            None => false,
            Some(Until::Date(date)) => local.date() > date,
            Some(Until::Local(until)) => local > until,
            Some(Until::Instant(until)) => instant(self.series.zone, local) > until,
        }
    }

    /// The times of the next period after `dtstart`, in order.
    fn next_period(&mut self) -> Option<Vec<NaiveDateTime>> {
        let rule = &self.series.rule;
        let start = self.series.dtstart;
        let step = self.period.checked_mul(rule.interval)?;
        self.period += 1;
        let days: Vec<NaiveDate> = match rule.freq {
            Freq::Daily => {
                let day = start.date().checked_add_days(Days::new(u64::from(step)))?;
                vec![day]
                    .into_iter()
                    .filter(|d| day_matches(rule, *d))
                    .collect()
            }
            Freq::Weekly => {
                let back = (7 + start.weekday().num_days_from_monday()
                    - rule.wkst.num_days_from_monday())
                    % 7;
                let week = start
                    .date()
                    .checked_sub_days(Days::new(u64::from(back)))?
                    .checked_add_days(Days::new(7 * u64::from(step)))?;
                let weekdays: Vec<chrono::Weekday> = if rule.by_day.is_empty() {
                    vec![start.weekday()]
                } else {
                    rule.by_day.iter().map(|d| d.weekday).collect()
                };
                let mut days: Vec<NaiveDate> = (0..7)
                    .filter_map(|i| week.checked_add_days(Days::new(i)))
                    .filter(|d| weekdays.contains(&d.weekday()))
                    .collect();
                days.sort_unstable();
                days
            }
            Freq::Monthly => {
                let first = start
                    .date()
                    .with_day(1)?
                    .checked_add_months(Months::new(step))?;
                month_days(rule, first, start.day())
            }
        };
        // A week may run into the year 10000: its days past 9999 are dropped, and the walk
        // ends with the first period that has none left.
        let mut days = days;
        let whole = days.len();
        days.retain(|d| SUPPORTED_YEARS.contains(&d.year()));
        if whole > 0 && days.is_empty() {
            return None;
        }
        let hours = if rule.by_hour.is_empty() {
            vec![start.hour()]
        } else {
            rule.by_hour.clone()
        };
        let minutes = if rule.by_minute.is_empty() {
            vec![start.minute()]
        } else {
            rule.by_minute.clone()
        };
        let mut times = Vec::new();
        for day in days {
            for &hour in &hours {
                for &minute in &minutes {
                    if let Some(time) = NaiveTime::from_hms_opt(hour, minute, start.second()) {
                        let local = day.and_time(time);
                        // dtstart is given first, once.
                        if local > start {
                            times.push(local);
                        }
                    }
                }
            }
        }
        Some(times)
    }
}

impl Iterator for LocalTimes<'_> {
    type Item = NaiveDateTime;

    fn next(&mut self) -> Option<NaiveDateTime> {
        while !self.done {
            if let Some(local) = self.pending.next() {
                if self.past_until(local) || self.series.rule.count.is_some_and(|c| self.given >= c)
                {
                    self.done = true;
                    return None;
                }
                self.given += 1;
                return Some(local);
            }
            match self.next_period() {
                Some(times) if times.is_empty() => {
                    self.empty += 1;
                    self.done = self.empty >= EMPTY_PERIODS;
                }
                Some(times) => {
                    self.empty = 0;
                    self.pending = times.into_iter();
                }
                None => self.done = true,
            }
        }
        None
    }
}

/// Whether a day of a `DAILY` rule is kept by its `BYDAY` and `BYMONTHDAY`.
fn day_matches(rule: &Rrule, day: NaiveDate) -> bool {
    let weekday_ok =
        rule.by_day.is_empty() || rule.by_day.iter().any(|d| d.weekday == day.weekday());
    let month_day_ok = rule.by_month_day.is_empty()
        || rule
            .by_month_day
            .iter()
            .any(|&n| month_day(day.with_day(1).expect("day 1 exists"), n) == Some(day));
    weekday_ok && month_day_ok
}

/// The days of the month starting on `first` that a `MONTHLY` rule gives, in order:
/// `BYMONTHDAY` (kept by `BYDAY` when both are given), else `BYDAY`, else `dtstart`'s day
/// (a month without it has none).
fn month_days(rule: &Rrule, first: NaiveDate, start_day: u32) -> Vec<NaiveDate> {
    let in_month: Vec<NaiveDate> = first
        .iter_days()
        .take_while(|d| d.month() == first.month())
        .collect();
    let by_day_keeps = |day: &NaiveDate| {
        rule.by_day.iter().any(|d| {
            d.weekday == day.weekday() && d.nth.is_none_or(|n| nth_matches(&in_month, *day, n))
        })
    };
    let mut days: Vec<NaiveDate> = if !rule.by_month_day.is_empty() {
        rule.by_month_day
            .iter()
            .filter_map(|&n| month_day(first, n))
            .filter(|d| rule.by_day.is_empty() || by_day_keeps(d))
            .collect()
    } else if !rule.by_day.is_empty() {
        in_month.iter().copied().filter(by_day_keeps).collect()
    } else {
        first.with_day(start_day).into_iter().collect()
    };
    days.sort_unstable();
    days.dedup();
    days
}

/// Day `n` of the month starting on `first` (negative: from its end); `None` when the month
/// is shorter.
fn month_day(first: NaiveDate, n: i8) -> Option<NaiveDate> {
    let length = first
        .iter_days()
        .take_while(|d| d.month() == first.month())
        .count() as i32;
    let day = if n > 0 {
        i32::from(n)
    } else {
        length + 1 + i32::from(n)
    };
    (1..=length)
        .contains(&day)
        .then(|| first.with_day(day as u32))
        .flatten()
}

/// Whether `day` is the `n`-th of its weekday in the month (`in_month`, in order): counted
/// from the start for `n` > 0 (1 the first), from the end for `n` < 0 (-1 the last).
fn nth_matches(in_month: &[NaiveDate], day: NaiveDate, n: i8) -> bool {
    let same: Vec<&NaiveDate> = in_month
        .iter()
        .filter(|d| d.weekday() == day.weekday())
        .collect();
    let Some(index) = same.iter().position(|d| **d == day) else {
        return false;
    };
    let (from_start, from_end) = (index as i8 + 1, index as i8 - same.len() as i8);
    n == from_start || n == from_end
}
