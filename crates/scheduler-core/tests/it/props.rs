//! Invariants over random rules, zones, posts and requests, checked against a brute-force
//! oracle that knows nothing of the planner's internals: it reads local wall-clock hours and
//! counts posts minute by minute.

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use proptest::prelude::*;
use scheduler_core::{
    DailyCap, Horizon, MinGap, PlatformRules, Posts, Rejection, ScheduleRequest, Window, Zone,
};

use crate::at;

/// Zones with the odd cases: DST in both hemispheres, half-hour DST (Lord Howe), +05:45,
/// +12:45 with DST going back across a whole hour, a zone whose clocks change at midnight, and
/// one that goes back two hours (Troll).
const ZONES: &[&str] = &[
    "UTC",
    "America/New_York",
    "Europe/Madrid",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "America/Santiago",
    "Antarctica/Troll",
];

/// Days near daylight-saving changes of those zones, and one ordinary day.
const DAYS: &[&str] = &[
    "2025-03-08T00:00:00Z",
    "2025-03-29T00:00:00Z",
    "2025-04-05T00:00:00Z",
    "2025-09-06T00:00:00Z",
    "2025-09-27T00:00:00Z",
    "2025-10-04T00:00:00Z",
    "2025-10-25T00:00:00Z",
    "2025-11-01T00:00:00Z",
    "2025-06-15T00:00:00Z",
];

#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub(crate) zone: Zone,
    pub(crate) rules: PlatformRules,
    pub(crate) now: DateTime<Utc>,
    pub(crate) requested: Option<DateTime<Utc>>,
    pub(crate) posts: Vec<DateTime<Utc>>,
}

pub(crate) fn minutes(m: i64) -> TimeDelta {
    TimeDelta::minutes(m)
}

/// Inputs on a grid of `unit` minutes, so that posts, gaps, requests and 24-hour spans often
/// meet exactly at their boundaries, where off-by-one mistakes live.
pub(crate) fn input() -> impl Strategy<Value = Input> {
    let unit = proptest::sample::select(&[1i64, 5, 15, 60][..]);
    (
        unit,
        proptest::sample::select(ZONES),
        proptest::sample::select(DAYS),
        (0u8..24, 1u8..=24).prop_filter("start differs from end", |(s, e)| s != e),
        0i64..=8,
        proptest::option::of(1u16..=4),
        0i64..2 * 24 * 60,
        proptest::option::of(-1i64..2 * 24 * 60),
        proptest::collection::vec(-24 * 60i64..4 * 24 * 60, 0..16),
    )
        .prop_map(
            |(unit, zone, day, (s, e), gap, cap, now, requested, posts)| {
                let grid = |m: i64| minutes(m - m.rem_euclid(unit));
                let base = at(day);
                let now = base + grid(now);
                let mut posts: Vec<_> = posts.into_iter().map(|p| now + grid(p)).collect();
                posts.sort_unstable();
                Input {
                    zone: Zone::parse(zone).unwrap(),
                    rules: PlatformRules {
                        window: Window::new(s, e).unwrap(),
                        min_gap: MinGap::from_minutes(u16::try_from(gap * unit).unwrap()).unwrap(),
                        daily_cap: cap.map(|c| DailyCap::new(c).unwrap()),
                        retry: Default::default(),
                    },
                    now,
                    requested: requested.map(|r| now + grid(r)),
                    posts,
                }
            },
        )
}

/// The oracle's rules, written from the contract: a local hour inside the window...
pub(crate) fn in_window(input: &Input, t: DateTime<Utc>) -> bool {
    let hour = input.zone.local(t).hour();
    let (s, e) = (
        u32::from(input.rules.window.start_hour()),
        u32::from(input.rules.window.end_hour()),
    );
    if s < e {
        s <= hour && hour < e
    } else {
        hour >= s || hour < e
    }
}

/// ...at least the gap from every post...
pub(crate) fn respects_gap(input: &Input, t: DateTime<Utc>) -> bool {
    let gap = input.rules.min_gap.duration();
    input.posts.iter().all(|p| (t - *p).abs() >= gap)
}

/// ...and no 24-hour interval holding more than the cap. The fullest interval containing `t`
/// starts at `t` or at a post in the 24 hours before it.
pub(crate) fn respects_cap(input: &Input, t: DateTime<Utc>) -> bool {
    let Some(cap) = input.rules.daily_cap else {
        return true;
    };
    let day = TimeDelta::hours(24);
    let starts = input
        .posts
        .iter()
        .copied()
        .filter(|p| *p <= t && t - *p < day);
    std::iter::once(t).chain(starts).all(|s| {
        let held = input
            .posts
            .iter()
            .filter(|p| s <= **p && **p < s + day)
            .count()
            + 1;
        held <= cap.posts()
    })
}

pub(crate) fn valid(input: &Input, t: DateTime<Utc>) -> bool {
    in_window(input, t) && respects_gap(input, t) && respects_cap(input, t)
}

fn plan(input: &Input) -> Result<scheduler_core::Plan, Rejection> {
    let request = ScheduleRequest {
        requested_for: input.requested,
        window_end: None,
        now: input.now,
    };
    scheduler_core::plan(
        &input.rules,
        Horizon::default(),
        input.zone,
        &request,
        Posts::new(&input.posts).unwrap(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_plan_is_valid_and_no_earlier_minute_is(input in input()) {
        let start = input.requested.unwrap_or(input.now).max(input.now);
        match plan(&input) {
            Ok(plan) => {
                let t = plan.scheduled_for;
                prop_assert!(t >= start, "earlier than requested: {t} < {start}");
                prop_assert!(in_window(&input, t), "outside the window: {t}");
                prop_assert!(respects_gap(&input, t), "closer than the gap: {t}");
                prop_assert!(respects_cap(&input, t), "over the daily cap: {t}");
                prop_assert!(plan.scheduled_window_end > t);
                prop_assert!(!in_window(&input, plan.scheduled_window_end)
                    || input.rules.window.start_hour() == input.rules.window.end_hour() % 24);
                // Minimal: no earlier whole minute is valid (all inputs are whole minutes).
                let mut m = start;
                while m < t {
                    prop_assert!(!valid(&input, m), "{m} is valid and earlier than {t}");
                    m += minutes(1);
                }
                prop_assert_eq!(plan.is_adjusted(), t != plan.requested_for);
            }
            Err(Rejection::InThePast(t)) => {
                prop_assert!(t < input.now - TimeDelta::seconds(60));
            }
            Err(other) => prop_assert!(false, "unexpected rejection {other}"),
        }
    }

    #[test]
    fn a_plan_from_only_the_posts_it_needs_is_the_same(input in input()) {
        // The store passes only posts near the request; a plan from those posts must equal the
        // plan from all of them when every post up to `needs_posts_until` is included.
        if let Ok(full) = plan(&input) {
            let start = input.requested.unwrap_or(input.now).max(input.now);
            let reach = input.rules.reach();
            let near: Vec<_> = input.posts.iter().copied()
                .filter(|p| *p > start - reach && *p < full.needs_posts_until)
                .collect();
            let partial = Input { posts: near, ..input.clone() };
            prop_assert_eq!(plan(&partial).unwrap(), full);
        }
    }
}

/// Any instant chrono can hold, most of them near the edges: chrono's own limits and the
/// supported years' bounds.
fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
    let (min, max) = (
        DateTime::<Utc>::MIN_UTC.timestamp(),
        DateTime::<Utc>::MAX_UTC.timestamp(),
    );
    let year = 366 * 24 * 3600;
    let (y1970, y10000) = (0, at("9999-12-31T23:59:59Z").timestamp());
    let secs = prop_oneof![
        min..=max,
        min..=min + year,
        max - year..=max,
        y1970 - year..=y1970 + year,
        y10000 - year..=y10000 + year,
    ];
    (secs, 0u32..1_000_000_000)
        .prop_map(|(secs, nanos)| DateTime::from_timestamp(secs, nanos).unwrap())
}

proptest! {
    /// Hostile instants (the year -262143, the year 262142, fractions of a second) give a plan or
    /// a rejection, never a panic or an overflow.
    #[test]
    fn no_instant_panics(
        input in input(),
        now in any_instant(),
        requested in proptest::option::of(any_instant()),
        window_end in proptest::option::of(any_instant()),
        mut posts in proptest::collection::vec(any_instant(), 0..8),
    ) {
        posts.sort_unstable();
        let request = ScheduleRequest { requested_for: requested, window_end, now };
        let result = scheduler_core::plan(
            &input.rules, Horizon::default(), input.zone, &request, Posts::new(&posts).unwrap(),
        );
        if let Ok(plan) = result {
            prop_assert!(plan.scheduled_for >= plan.requested_for);
            // Every instant returned is a real, printable instant in whole seconds.
            for t in [plan.scheduled_for, plan.scheduled_window_end] {
                prop_assert!(t <= scheduler_core::latest_supported(), "{t}");
                prop_assert_eq!(t.timestamp_subsec_nanos(), 0);
            }
            prop_assert!(plan.scheduled_for <= plan.scheduled_window_end);
        }
    }
}

#[test]
fn unsorted_posts_are_refused() {
    let posts = [at("2025-01-15T20:00:00Z"), at("2025-01-15T19:00:00Z")];
    assert_eq!(Posts::new(&posts).unwrap_err().index, 1);
}

/// Found by `no_instant_panics`: a post given with a fraction of a second moved the slot to
/// that post plus the gap, fraction included.
#[test]
fn a_post_with_a_fraction_of_a_second_moves_the_slot_to_a_whole_second() {
    let rules = PlatformRules {
        window: Window::new(0, 15).unwrap(),
        min_gap: MinGap::from_minutes(75).unwrap(),
        daily_cap: None,
        retry: Default::default(),
    };
    let zone = Zone::parse("America/Santiago").unwrap();
    let now = DateTime::from_timestamp(at("9999-03-30T14:36:56Z").timestamp(), 1).unwrap();
    let request = ScheduleRequest {
        requested_for: None,
        window_end: None,
        now,
    };
    let post = [DateTime::from_timestamp(at("9999-03-30T13:21:57Z").timestamp(), 1).unwrap()];
    let plan = scheduler_core::plan(
        &rules,
        Horizon::default(),
        zone,
        &request,
        Posts::new(&post).unwrap(),
    )
    .unwrap();
    assert_eq!(plan.scheduled_for, at("9999-03-30T14:36:58Z"));
    assert_eq!(plan.reason, "Adjusted 0min 1s forward to respect 75min gap");
}
