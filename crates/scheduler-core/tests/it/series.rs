//! Recurring series: RFC 5545 rules in the account's local time. Table cases for what users
//! rely on (a weekly post keeps 18:30 across both New York changes, the last Friday of the
//! month in Sydney, gaps and repeated hours, COUNT, UNTIL, exdates) and a property test
//! against an oracle that walks local days one by one and finds instants minute by minute.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc, Weekday};
use proptest::prelude::*;
use scheduler_core::{
    bounded_by_next, plan_occurrences, Horizon, MinGap, PlatformRules, Posts, Recurrence,
    Rejection, Rrule, RruleError, RuleSet, ToPlan, Window, Zone,
};

use crate::at;

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").unwrap()
}

/// The first `n` occurrences of `rule` from `dtstart` in `zone`: (local time, instant).
fn expand(
    zone: &str,
    dtstart: &str,
    rule: &str,
    exdates: &[&str],
    n: usize,
) -> Vec<(String, String)> {
    let series = Recurrence::new(
        local(dtstart),
        rule.parse().unwrap(),
        exdates.iter().map(|d| local(d)),
        Zone::parse(zone).unwrap(),
    );
    series
        .occurrences()
        .take(n)
        .map(|o| {
            (
                o.local.format("%Y-%m-%dT%H:%M").to_string(),
                scheduler_core::rfc3339(o.at),
            )
        })
        .collect()
}

#[track_caller]
fn check(zone: &str, dtstart: &str, rule: &str, exdates: &[&str], expected: &[(&str, &str)]) {
    let got = expand(zone, dtstart, rule, exdates, expected.len() + 5);
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(l, u)| (l.to_string(), u.to_string()))
        .collect();
    assert_eq!(got, expected, "{zone} {dtstart} {rule}");
}

#[test]
fn occurrences_are_local_times_across_daylight_saving() {
    // Weekly at 18:30 in New York across the March and November 2027 changes: 18:30 local
    // each time, 23:30Z in winter and 22:30Z in summer.
    check(
        "America/New_York",
        "2027-03-01T18:30:00",
        "FREQ=WEEKLY;BYDAY=MO;COUNT=4",
        &[],
        &[
            ("2027-03-01T18:30", "2027-03-01T23:30:00Z"),
            ("2027-03-08T18:30", "2027-03-08T23:30:00Z"),
            ("2027-03-15T18:30", "2027-03-15T22:30:00Z"),
            ("2027-03-22T18:30", "2027-03-22T22:30:00Z"),
        ],
    );
    check(
        "America/New_York",
        "2027-10-25T18:30:00",
        "RRULE:FREQ=WEEKLY;COUNT=3",
        &[],
        &[
            ("2027-10-25T18:30", "2027-10-25T22:30:00Z"),
            ("2027-11-01T18:30", "2027-11-01T22:30:00Z"),
            ("2027-11-08T18:30", "2027-11-08T23:30:00Z"),
        ],
    );
    // The last Friday of each month in Sydney, across April's change (+11 to +10).
    check(
        "Australia/Sydney",
        "2027-01-29T09:00:00",
        "FREQ=MONTHLY;BYDAY=-1FR;COUNT=4",
        &[],
        &[
            ("2027-01-29T09:00", "2027-01-28T22:00:00Z"),
            ("2027-02-26T09:00", "2027-02-25T22:00:00Z"),
            ("2027-03-26T09:00", "2027-03-25T22:00:00Z"),
            ("2027-04-30T09:00", "2027-04-29T23:00:00Z"),
        ],
    );
    // 02:30 does not exist on 14 March in New York: moved forward by the gap, to 03:30 EDT.
    check(
        "America/New_York",
        "2027-03-13T02:30:00",
        "FREQ=DAILY;COUNT=3",
        &[],
        &[
            ("2027-03-13T02:30", "2027-03-13T07:30:00Z"),
            ("2027-03-14T02:30", "2027-03-14T07:30:00Z"),
            ("2027-03-15T02:30", "2027-03-15T06:30:00Z"),
        ],
    );
    // 01:30 happens twice on 7 November: the first (EDT).
    check(
        "America/New_York",
        "2027-11-06T01:30:00",
        "FREQ=DAILY;COUNT=2",
        &[],
        &[
            ("2027-11-06T01:30", "2027-11-06T05:30:00Z"),
            ("2027-11-07T01:30", "2027-11-07T05:30:00Z"),
        ],
    );
    // Lord Howe moves by half an hour: 02:15 does not exist on 3 October 2027.
    check(
        "Australia/Lord_Howe",
        "2027-10-02T02:15:00",
        "FREQ=DAILY;COUNT=2",
        &[],
        &[
            ("2027-10-02T02:15", "2027-10-01T15:45:00Z"),
            ("2027-10-03T02:15", "2027-10-02T15:45:00Z"),
        ],
    );
}

#[test]
fn count_until_exdates_and_the_shapes_of_rules() {
    let locals = |zone, start, rule, ex: &[&str]| -> Vec<String> {
        expand(zone, start, rule, ex, 50)
            .into_iter()
            .map(|(l, _)| l)
            .collect()
    };
    assert_eq!(
        locals(
            "UTC",
            "2027-01-01T10:00:00",
            "FREQ=DAILY;UNTIL=20270104",
            &[]
        )
        .len(),
        4
    );
    assert_eq!(
        locals(
            "UTC",
            "2027-01-01T10:00:00",
            "FREQ=DAILY;UNTIL=20270103T100000",
            &[]
        )
        .len(),
        3
    );
    assert_eq!(
        locals(
            "UTC",
            "2027-01-01T10:00:00",
            "FREQ=DAILY;UNTIL=20270103T095959Z",
            &[]
        )
        .len(),
        2
    );
    // COUNT counts dtstart and the excluded dates.
    assert_eq!(
        locals(
            "UTC",
            "2027-01-01T10:00:00",
            "FREQ=DAILY;COUNT=4",
            &["2027-01-02T10:00:00"]
        ),
        ["2027-01-01T10:00", "2027-01-03T10:00", "2027-01-04T10:00"]
    );
    // The 31st, in the months that have one; the last day of each month.
    assert_eq!(
        locals("UTC", "2027-01-31T10:00:00", "FREQ=MONTHLY;COUNT=4", &[]),
        [
            "2027-01-31T10:00",
            "2027-03-31T10:00",
            "2027-05-31T10:00",
            "2027-07-31T10:00"
        ]
    );
    assert_eq!(
        locals(
            "UTC",
            "2027-01-31T10:00:00",
            "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3",
            &[]
        ),
        ["2027-01-31T10:00", "2027-02-28T10:00", "2027-03-31T10:00"]
    );
    // Every other week, three days, two times each; weeks from Sunday.
    assert_eq!(
        locals(
            "UTC",
            "2027-01-04T09:00:00",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR;BYHOUR=9,17;BYMINUTE=0;COUNT=6",
            &[]
        ),
        [
            "2027-01-04T09:00",
            "2027-01-04T17:00",
            "2027-01-08T09:00",
            "2027-01-08T17:00",
            "2027-01-18T09:00",
            "2027-01-18T17:00"
        ]
    );
    assert_eq!(
        locals(
            "UTC",
            "2027-01-05T09:00:00",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU,TU;WKST=SU;COUNT=4",
            &[]
        ),
        [
            "2027-01-05T09:00",
            "2027-01-17T09:00",
            "2027-01-19T09:00",
            "2027-01-31T09:00"
        ]
    );
    // dtstart is the first occurrence even when the rule would not give it.
    assert_eq!(
        locals(
            "UTC",
            "2027-01-06T09:00:00",
            "FREQ=WEEKLY;BYDAY=MO;COUNT=2",
            &[]
        ),
        ["2027-01-06T09:00", "2027-01-11T09:00"]
    );
    // A rule that can never match again ends instead of searching for ever.
    assert_eq!(
        locals(
            "UTC",
            "2027-04-30T09:00:00",
            "FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=31",
            &[]
        )
        .len(),
        1
    );
}

#[test]
fn rules_read_back_and_refuse_what_the_contract_does_not_take() {
    let round = |text: &str| text.parse::<Rrule>().unwrap().to_string();
    assert_eq!(
        round("rrule:freq=monthly;byday=-1fr"),
        "FREQ=MONTHLY;BYDAY=-1FR"
    );
    assert_eq!(
        round("FREQ=WEEKLY;BYDAY=FR,MO,MO;WKST=SU;INTERVAL=2"),
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR;WKST=SU"
    );
    // Every half hour, the most a rule may give.
    let every_half_hour = "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,\
                           20,21,22,23;BYMINUTE=0,30";
    assert_eq!(round(every_half_hour), every_half_hour);
    assert_eq!(
        round("FREQ=DAILY;BYHOUR=9,0;BYMINUTE=30;UNTIL=20270101T120000Z"),
        "FREQ=DAILY;BYHOUR=0,9;BYMINUTE=30;UNTIL=20270101T120000Z"
    );
    for (rule, part) in [
        ("FREQ=YEARLY", "FREQ=YEARLY"),
        ("FREQ=DAILY;BYSETPOS=1", "BYSETPOS"),
        ("FREQ=DAILY;BYMONTH=1", "BYMONTH"),
        ("FREQ=DAILY;BYSECOND=1", "BYSECOND"),
    ] {
        assert_eq!(
            rule.parse::<Rrule>(),
            Err(RruleError::Unsupported(part.into())),
            "{rule}"
        );
    }
    for rule in [
        "",
        "BYDAY=MO",
        "FREQ=DAILY;FREQ=DAILY",
        "FREQ=SOMETIMES",
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=DAILY;INTERVAL=1001",
        "FREQ=DAILY;COUNT=0",
        "FREQ=DAILY;COUNT=2;UNTIL=20270101",
        "FREQ=WEEKLY;BYDAY=1MO",
        "FREQ=MONTHLY;BYDAY=6MO",
        "FREQ=MONTHLY;BYDAY=0MO",
        "FREQ=WEEKLY;BYMONTHDAY=1",
        "FREQ=MONTHLY;BYMONTHDAY=0",
        "FREQ=MONTHLY;BYMONTHDAY=32",
        "FREQ=DAILY;BYHOUR=24",
        "FREQ=DAILY;BYMINUTE=60",
        // 49 times a day: more than every half hour.
        "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6;BYMINUTE=0,8,16,24,32,40,48",
        "FREQ=DAILY;UNTIL=2027-01-01",
        "FREQ=DAILY;WKST=XX",
        "FREQ=DAILY;BYDAY=",
        "FREQ=DAILY;INTERVAL",
        "FREQ=DAILY;COUNT=1,2",
    ] {
        assert!(rule.parse::<Rrule>().is_err(), "{rule:?} was taken");
    }
}

// ---- the oracle ----

/// `values` comma-separated.
fn list<T: ToString>(values: &[T]) -> String {
    values
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A rule in the oracle's own terms.
#[derive(Debug, Clone)]
struct Plain {
    freq: &'static str,
    interval: u32,
    by_day: Vec<(Option<i8>, Weekday)>,
    by_month_day: Vec<i8>,
    by_hour: Vec<u32>,
    by_minute: Vec<u32>,
    count: u32,
    wkst: Weekday,
}

impl Plain {
    fn text(&self) -> String {
        let name = |d: Weekday| d.to_string().to_uppercase()[..2].to_owned();
        let mut parts = vec![format!(
            "FREQ={};INTERVAL={};COUNT={};WKST={}",
            self.freq,
            self.interval,
            self.count,
            name(self.wkst)
        )];
        if !self.by_day.is_empty() {
            let days: Vec<String> = self
                .by_day
                .iter()
                .map(|(n, d)| {
                    format!(
                        "{}{}",
                        n.map(|n| n.to_string()).unwrap_or_default(),
                        name(*d)
                    )
                })
                .collect();
            parts.push(format!("BYDAY={}", days.join(",")));
        }
        for (name, values) in [
            ("BYMONTHDAY", list(&self.by_month_day)),
            ("BYHOUR", list(&self.by_hour)),
            ("BYMINUTE", list(&self.by_minute)),
        ] {
            if !values.is_empty() {
                parts.push(format!("{name}={values}"));
            }
        }
        parts.join(";")
    }
}

fn days_in_month(day: NaiveDate) -> u32 {
    (28..=31)
        .rev()
        .find(|&d| day.with_day(d).is_some())
        .unwrap()
}

/// Whether the day is one of the oracle rule's, looking at that day alone.
fn oracle_day(rule: &Plain, start: NaiveDate, day: NaiveDate) -> bool {
    let week_start = |d: NaiveDate| {
        d - TimeDelta::days(i64::from(
            (7 + d.weekday().num_days_from_monday() - rule.wkst.num_days_from_monday()) % 7,
        ))
    };
    let months = |d: NaiveDate| {
        (d.year() * 12 + d.month() as i32) - (start.year() * 12 + start.month() as i32)
    };
    let in_period = match rule.freq {
        "DAILY" => (day - start).num_days() % i64::from(rule.interval) == 0,
        "WEEKLY" => {
            ((week_start(day) - week_start(start)).num_days() / 7) % i64::from(rule.interval) == 0
        }
        _ => months(day) % rule.interval as i32 == 0,
    };
    let length = days_in_month(day) as i32;
    let month_day_is = |n: i8| {
        if n > 0 {
            day.day() as i32 == i32::from(n)
        } else {
            day.day() as i32 == length + 1 + i32::from(n)
        }
    };
    let nth_is = |n: i8| {
        if n > 0 {
            (day.day() as i32 - 1) / 7 + 1 == i32::from(n)
        } else {
            -((length - day.day() as i32) / 7 + 1) == i32::from(n)
        }
    };
    let by_day = |with_nth: bool| {
        rule.by_day
            .iter()
            .any(|(n, d)| *d == day.weekday() && (!with_nth || n.is_none_or(nth_is)))
    };
    in_period
        && match rule.freq {
            "DAILY" => {
                (rule.by_day.is_empty() || by_day(false))
                    && (rule.by_month_day.is_empty()
                        || rule.by_month_day.iter().any(|&n| month_day_is(n)))
            }
            "WEEKLY" => {
                if rule.by_day.is_empty() {
                    day.weekday() == start.weekday()
                } else {
                    by_day(false)
                }
            }
            _ => {
                if !rule.by_month_day.is_empty() {
                    rule.by_month_day.iter().any(|&n| month_day_is(n))
                        && (rule.by_day.is_empty() || by_day(true))
                } else if !rule.by_day.is_empty() {
                    by_day(true)
                } else {
                    day.day() == start.day()
                }
            }
        }
}

/// The oracle's local times: dtstart, then every time of every day it keeps, walking days.
fn oracle_locals(rule: &Plain, dtstart: NaiveDateTime) -> Vec<NaiveDateTime> {
    let hours = if rule.by_hour.is_empty() {
        vec![dtstart.hour()]
    } else {
        rule.by_hour.clone()
    };
    let minutes = if rule.by_minute.is_empty() {
        vec![dtstart.minute()]
    } else {
        rule.by_minute.clone()
    };
    let mut out = vec![dtstart];
    let mut day = dtstart.date();
    while out.len() < rule.count as usize && (day - dtstart.date()).num_days() < 20_000 {
        if oracle_day(rule, dtstart.date(), day) {
            let mut times: Vec<NaiveTime> = hours
                .iter()
                .flat_map(|&h| {
                    minutes
                        .iter()
                        .map(move |&m| NaiveTime::from_hms_opt(h, m, 0).unwrap())
                })
                .collect();
            times.sort();
            out.extend(
                times
                    .into_iter()
                    .map(|t| day.and_time(t))
                    .filter(|l| *l > dtstart),
            );
        }
        day = day.succ_opt().unwrap();
    }
    out.truncate(rule.count as usize);
    out
}

/// The oracle's instant: the first minute whose local time is `local`; across a gap, `local`
/// read with the offset of the last minute before it.
fn oracle_instant(zone: Zone, local: NaiveDateTime) -> chrono::DateTime<Utc> {
    let mut t = (local - TimeDelta::hours(16)).and_utc();
    let mut before = None;
    while t < (local + TimeDelta::hours(16)).and_utc() {
        let reads = zone.local(t);
        if reads == local {
            return t;
        }
        if reads < local {
            before = Some(reads - t.naive_utc());
        }
        t += TimeDelta::minutes(1);
    }
    (local - before.unwrap()).and_utc()
}

const ZONES: &[&str] = &[
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "America/St_Johns",
];
/// Starts a few days before changes in those zones.
const STARTS: &[&str] = &[
    "2027-03-10",
    "2027-03-24",
    "2027-04-01",
    "2027-09-22",
    "2027-10-01",
    "2027-10-28",
    "2027-11-04",
    "2027-06-15",
];

fn weekday_strategy() -> impl Strategy<Value = Weekday> {
    (0u8..7).prop_map(|i| Weekday::try_from(i).unwrap())
}

fn plain_strategy() -> impl Strategy<Value = Plain> {
    (
        prop_oneof![Just("DAILY"), Just("WEEKLY"), Just("MONTHLY")],
        1u32..4,
        proptest::collection::vec(
            (
                prop_oneof![
                    Just(None),
                    (1i8..=5).prop_map(Some),
                    (-5i8..=-1).prop_map(Some)
                ],
                weekday_strategy(),
            ),
            0..3,
        ),
        proptest::collection::vec(prop_oneof![1i8..=31, -31i8..=-1], 0..3),
        proptest::collection::vec(0u32..24, 0..3),
        proptest::collection::vec(prop_oneof![Just(0u32), Just(30), Just(59)], 0..2),
        1u32..25,
        weekday_strategy(),
    )
        .prop_map(
            |(freq, interval, mut by_day, mut by_month_day, by_hour, by_minute, count, wkst)| {
                if freq != "MONTHLY" {
                    by_day.iter_mut().for_each(|d| d.0 = None);
                }
                if freq == "WEEKLY" {
                    by_month_day.clear();
                }
                let mut by_hour = by_hour;
                by_hour.sort();
                by_hour.dedup();
                let mut by_minute = by_minute;
                by_minute.sort();
                by_minute.dedup();
                by_month_day.sort();
                by_month_day.dedup();
                by_day.sort_by_key(|d| (d.1.num_days_from_monday(), d.0));
                by_day.dedup();
                Plain {
                    freq,
                    interval,
                    by_day,
                    by_month_day,
                    by_hour,
                    by_minute,
                    count,
                    wkst,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Local times as the day-walking oracle finds them, and instants as the minute-scanning
    /// oracle finds them, around daylight-saving changes of many zones.
    #[test]
    fn occurrences_match_the_oracle(
        rule in plain_strategy(),
        zone in proptest::sample::select(ZONES),
        start in proptest::sample::select(STARTS),
        hour in 0u32..24,
        minute in prop_oneof![Just(0u32), Just(15), Just(30), Just(45)],
    ) {
        let zone = Zone::parse(zone).unwrap();
        let dtstart = NaiveDate::parse_from_str(start, "%Y-%m-%d").unwrap().and_hms_opt(hour, minute, 0).unwrap();
        let text = rule.text();
        let parsed: Rrule = text.parse().unwrap();
        let series = Recurrence::new(dtstart, parsed, [], zone);
        // The oracle walks 20,000 days (55 years): both lists as far as that.
        let horizon = dtstart + TimeDelta::days(20_000);
        let got: Vec<_> = series.occurrences().take_while(|o| o.local < horizon).collect();
        let expected: Vec<_> = oracle_locals(&rule, dtstart).into_iter().filter(|l| *l < horizon).collect();
        prop_assert_eq!(got.iter().map(|o| o.local).collect::<Vec<_>>(), expected, "{}", text);
        for o in got.iter().take(8) {
            prop_assert_eq!(o.at, oracle_instant(zone, o.local), "{} {}", text, o.local);
        }
        // `between` gives the same occurrences as the full list, within its bounds.
        if let (Some(first), Some(last)) = (got.first(), got.last()) {
            let (from, to) = (first.at + TimeDelta::hours(1), last.at);
            let inside: Vec<_> = got.iter().filter(|o| o.at >= from && o.at < to).copied().collect();
            prop_assert_eq!(series.between(from, to), inside);
            // A span ending in the middle says where the series goes on: the earliest instant
            // at or after its end (the list reaches far enough past it to know).
            // A span starting late walks from its own period, not from dtstart.
            let middle = got[got.len() / 2].at;
            let later: Vec<_> = got.iter().filter(|o| o.at >= middle && o.at < last.at).copied().collect();
            prop_assert_eq!(series.between(middle, last.at), later);
            let from_middle: Vec<_> = got.iter().filter(|o| o.at >= middle).take(5).copied().collect();
            prop_assert_eq!(series.after(middle).take(from_middle.len()).collect::<Vec<_>>(), from_middle);
            let to = got[got.len() / 2].at + TimeDelta::minutes(30);
            if last.local > to.naive_utc() + TimeDelta::days(3) {
                let span = series.span(from, to);
                let inside: Vec<_> = got.iter().filter(|o| o.at >= from && o.at < to).copied().collect();
                prop_assert_eq!(span.within, inside);
                prop_assert_eq!(span.next, got.iter().map(|o| o.at).filter(|at| *at >= to).min());
            }
        }
    }
}

#[test]
fn the_oracle_itself_agrees_with_the_table() {
    let rule = Plain {
        freq: "MONTHLY",
        interval: 1,
        by_day: vec![(Some(-1), Weekday::Fri)],
        by_month_day: vec![],
        by_hour: vec![],
        by_minute: vec![],
        count: 3,
        wkst: Weekday::Mon,
    };
    let days: Vec<String> = oracle_locals(&rule, local("2027-01-29T09:00:00"))
        .iter()
        .map(|l| l.date().to_string())
        .collect();
    assert_eq!(days, ["2027-01-29", "2027-02-26", "2027-03-26"]);
    let zone = Zone::parse("America/New_York").unwrap();
    assert_eq!(
        oracle_instant(zone, local("2027-03-14T02:30:00")),
        at("2027-03-14T07:30:00Z")
    );
    assert_eq!(
        oracle_instant(zone, local("2027-11-07T01:30:00")),
        at("2027-11-07T05:30:00Z")
    );
}

// ---- planning the occurrences ----

fn instagram() -> PlatformRules {
    *RuleSet::default()
        .get(&scheduler_core::Platform::instagram())
        .unwrap()
}

#[test]
fn occurrences_are_planned_like_requests_and_respect_each_other() {
    let zone = Zone::parse("America/New_York").unwrap();
    // Twice a day, 30 minutes apart, on Instagram (18–23 h, 60 min): the second of each day
    // moves to an hour after the first. A one-off post at 19:00 on the 2nd moves that day's
    // first to 20:00 and its second to 21:00.
    let rule: Rrule = "FREQ=DAILY;BYHOUR=18;BYMINUTE=30,59;COUNT=4"
        .parse()
        .unwrap();
    let series = Recurrence::new(local("2027-03-01T18:30:00"), rule, [], zone);
    let occurrences: Vec<_> = series.occurrences().collect();
    let others = [at("2027-03-03T00:00:00Z")]; // 19:00 local on 2 March
    let unbounded: Vec<ToPlan> = occurrences.iter().map(|&o| o.into()).collect();
    let planned = plan_occurrences(
        &instagram(),
        Horizon::default(),
        zone,
        &unbounded,
        Posts::new(&others).unwrap(),
        at("2027-02-01T00:00:00Z"),
    );
    let slots: Vec<(String, String)> = planned
        .iter()
        .map(|p| {
            let plan = p.plan.as_ref().unwrap();
            (
                scheduler_core::rfc3339(plan.scheduled_for),
                plan.reason.clone(),
            )
        })
        .collect();
    assert_eq!(
        slots,
        [
            (
                "2027-03-01T23:30:00Z".to_owned(),
                "Scheduled as requested".to_owned()
            ),
            (
                "2027-03-02T00:30:00Z".to_owned(),
                "Adjusted 31min forward to respect 60min gap".to_owned()
            ),
            (
                "2027-03-03T01:00:00Z".to_owned(),
                "Adjusted 90min forward to respect 60min gap".to_owned()
            ),
            (
                "2027-03-03T02:00:00Z".to_owned(),
                "Adjusted 121min forward to respect 60min gap".to_owned()
            ),
        ]
    );
    // Bound by the next occurrence, the third (18:30 on the 2nd) cannot land before the fourth
    // (18:59) and has no slot; the fourth takes 20:00. A rule denser than the window never
    // piles up.
    let bounded = plan_occurrences(
        &instagram(),
        Horizon::default(),
        zone,
        &bounded_by_next(&occurrences, None),
        Posts::new(&others).unwrap(),
        at("2027-02-01T00:00:00Z"),
    );
    assert_eq!(
        bounded[2].plan,
        Err(Rejection::BeforeNextOccurrence(at("2027-03-02T23:59:00Z")))
    );
    assert_eq!(
        bounded[2].plan.as_ref().unwrap_err().to_string(),
        "No available slot before the series' next occurrence at 2027-03-02T23:59:00Z"
    );
    let slots: Vec<_> = bounded
        .iter()
        .map(|p| {
            p.plan
                .as_ref()
                .ok()
                .map(|plan| scheduler_core::rfc3339(plan.scheduled_for))
        })
        .collect();
    assert_eq!(
        slots,
        [
            Some("2027-03-01T23:30:00Z".to_owned()),
            Some("2027-03-02T00:30:00Z".to_owned()),
            None,
            Some("2027-03-03T01:00:00Z".to_owned()),
        ]
    );
    // Occurrences already past are not made (a series never fires its past at once).
    let late = plan_occurrences(
        &instagram(),
        Horizon::default(),
        zone,
        &unbounded,
        Posts::default(),
        at("2027-03-02T12:00:00Z"),
    );
    assert!(matches!(late[0].plan, Err(Rejection::InThePast(_))));
    assert!(matches!(late[1].plan, Err(Rejection::InThePast(_))));
    assert!(late[2].plan.is_ok() && late[3].plan.is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    /// Every planned occurrence is at or after its time, inside the window, and at least the
    /// gap from every other planned occurrence and every other post.
    #[test]
    fn planned_occurrences_keep_the_gap_and_the_window(
        rule in plain_strategy(),
        zone in proptest::sample::select(ZONES),
        start in proptest::sample::select(STARTS),
        hour in 0u32..24,
        gap in 0u16..120,
        window in (0u8..24, 1u8..=24),
        others in proptest::collection::vec(0i64..(20 * 24 * 60), 0..10),
    ) {
        let Ok(window) = Window::new(window.0, window.1) else { return Ok(()) };
        let rules = PlatformRules { window, min_gap: MinGap::from_minutes(gap).unwrap(), daily_cap: None, retry: Default::default() };
        let zone = Zone::parse(zone).unwrap();
        let dtstart = NaiveDate::parse_from_str(start, "%Y-%m-%d").unwrap().and_hms_opt(hour, 0, 0).unwrap();
        let occurrences: Vec<_> = Recurrence::new(dtstart, rule.text().parse().unwrap(), [], zone).occurrences().take(12).collect();
        let base = dtstart.and_utc() - TimeDelta::days(1);
        let mut others: Vec<_> = others.into_iter().map(|m| base + TimeDelta::minutes(m)).collect();
        others.sort();
        let to_plan = bounded_by_next(&occurrences, None);
        let planned = plan_occurrences(&rules, Horizon::default(), zone, &to_plan, Posts::new(&others).unwrap(), base - TimeDelta::days(1));
        let slots: Vec<_> = planned.iter().zip(&to_plan).filter_map(|(p, t)| p.plan.as_ref().ok().map(|plan| (p.occurrence, plan.scheduled_for, t.until))).collect();
        let gap = TimeDelta::minutes(i64::from(gap));
        for (i, (occurrence, slot, until)) in slots.iter().enumerate() {
            prop_assert!(*slot >= occurrence.at);
            // Never after the next occurrence.
            prop_assert!(until.is_none_or(|u| *slot <= u), "{} after {:?}", slot, until);
            prop_assert!(window.contains_hour(zone.local(*slot).hour()), "{} outside {}", slot, window);
            for other in others.iter().chain(slots.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, (_, s, _))| s)) {
                prop_assert!((*slot - *other).abs() >= gap, "{} and {} closer than {}", slot, other, gap);
            }
        }
    }
}

#[test]
fn each_occurrence_is_bound_by_the_earliest_one_after_it() {
    let o = |l: &str, a: &str| scheduler_core::SeriesOccurrence {
        local: local(l),
        at: at(a),
    };
    // In New York's March gap, 02:00 and 02:30 move to 03:00 and 03:30, after (or on) the
    // real 03:00: each is bound by the earliest instant that follows it in the rule.
    let occurrences = [
        o("2027-03-14T02:00:00", "2027-03-14T07:00:00Z"),
        o("2027-03-14T02:30:00", "2027-03-14T07:30:00Z"),
        o("2027-03-14T03:00:00", "2027-03-14T07:00:00Z"),
    ];
    let bounds: Vec<_> = bounded_by_next(&occurrences, Some(at("2027-03-15T07:00:00Z")))
        .iter()
        .map(|t| t.until.map(scheduler_core::rfc3339))
        .collect();
    assert_eq!(
        bounds,
        [
            Some("2027-03-14T07:00:00Z".to_owned()),
            Some("2027-03-14T07:30:00Z".to_owned()),
            Some("2027-03-15T07:00:00Z".to_owned()),
        ]
    );
}

#[test]
fn no_occurrence_leaves_the_supported_years() {
    // A week from Monday 9999-12-27 runs into the year 10000; in a zone 14 hours ahead those
    // days' instants would still be in 9999. Neither is given.
    let zone = Zone::parse("Pacific/Kiritimati").unwrap();
    let rule: Rrule = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU".parse().unwrap();
    let series = Recurrence::new(local("9999-12-20T10:00:00"), rule, [], zone);
    let all: Vec<_> = series.occurrences().collect();
    assert_eq!(all.last().unwrap().local, local("9999-12-31T10:00:00"));
    assert!(all
        .iter()
        .all(|o| o.at <= scheduler_core::latest_supported()));
    let new_york = Zone::parse("America/New_York").unwrap();
    let daily: Rrule = "FREQ=DAILY".parse().unwrap();
    let late = Recurrence::new(local("9999-12-31T10:00:00"), daily, [], new_york);
    assert_eq!(
        late.occurrences().count(),
        1,
        "15:00Z on the last day, and nothing after"
    );
}
