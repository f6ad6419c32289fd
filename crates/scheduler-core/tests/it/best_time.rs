//! Best time to post: synthetic histories whose right answer is known.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use scheduler_core::{
    default_shape, score_hours, suggest, Basis, Horizon, HourOfWeek, Platform, PlatformRules,
    Posts, RuleSet, Tally, Window, Zone,
};

use crate::at;

/// Instagram's defaults: 18:00–23:00, 60 minutes apart.
fn instagram() -> PlatformRules {
    *RuleSet::default().get(&Platform::instagram()).unwrap()
}

fn local(s: &str) -> NaiveDateTime {
    s.parse().unwrap()
}

/// The best `count` slots of the week from Monday 2030-06-03 00:00 UTC, with `posts` booked.
fn week(
    account: &Tally,
    platform: &Tally,
    posts: &[DateTime<Utc>],
    count: usize,
) -> Vec<(String, f64, Basis)> {
    let rules = instagram();
    let scores = score_hours(rules.window, account, platform);
    let from = at("2030-06-03T00:00:00Z");
    suggest(
        &rules,
        Horizon::default(),
        Zone::UTC,
        &scores,
        Posts::new(posts).unwrap(),
        (from, from + TimeDelta::days(7)),
        at("2030-06-01T00:00:00Z"),
        count,
    )
    .into_iter()
    .map(|s| (s.at.format("%a %H:%M").to_string(), s.score, s.basis))
    .collect()
}

#[test]
fn without_history_the_windows_middle_is_best() {
    let best = week(&Tally::default(), &Tally::default(), &[], 3);
    // 18:00–23:00: the middle is 20:30, in the hour 20:00–20:59.
    assert_eq!(
        best.iter().map(|b| b.0.as_str()).collect::<Vec<_>>(),
        ["Mon 20:00", "Mon 20:30", "Tue 20:00"]
    );
    assert!(best.iter().all(|b| b.2 == Basis::Default && b.1 == 1.0));
    let window = Window::new(18, 23).unwrap();
    assert_eq!(default_shape(window, 20), 1.0);
    assert!(default_shape(window, 18) < default_shape(window, 19));
    assert_eq!(default_shape(window, 3), 0.9);
}

#[test]
fn an_hour_with_ten_times_the_views_comes_first() {
    let mut account = Tally::default();
    // Four weeks of Thursdays: 19:00 posts with 1,000 views, 22:00 posts with 10,000.
    for day in ["2030-05-02", "2030-05-09", "2030-05-16", "2030-05-23"] {
        account.add(local(&format!("{day}T19:00:00")), 1_000);
        account.add(local(&format!("{day}T22:00:00")), 10_000);
    }
    let best = week(&account, &account.clone(), &[], 2);
    assert_eq!(best[0].0, "Thu 22:00", "{best:?}");
    assert_eq!(best[0].1, 1.0);
    assert_eq!(best[0].2, Basis::History);
    // Its half hour next, also 22:00's hour.
    assert_eq!(best[1].0, "Thu 22:30");
}

#[test]
fn one_lucky_post_does_not_move_far_from_the_default() {
    let mut account = Tally::default();
    account.add(local("2030-05-06T18:00:00"), 1_000_000);
    let best = week(&account, &Tally::default(), &[], 1);
    // The window's middle still: Monday 18:00's one post counts 1/6 against the prior.
    assert_eq!(best[0].0, "Mon 20:00", "{best:?}");
    assert_eq!(best[0].2, Basis::History);
}

#[test]
fn the_platforms_hours_are_the_prior_where_they_have_posts() {
    // The platform's accounts do best on Wednesdays at 19:00; this account has one post.
    let mut platform = Tally::default();
    for i in 0..12 {
        platform.add(local("2030-05-08T19:00:00"), 50_000 + i);
        platform.add(local("2030-05-08T21:00:00"), 500);
    }
    let mut account = Tally::default();
    account.add(local("2030-05-06T20:00:00"), 800);
    let best = week(&account, &platform, &[], 1);
    assert_eq!(best[0].0, "Wed 19:00", "{best:?}");
}

#[test]
fn only_free_valid_slots_are_offered() {
    // A post at Monday 20:00 takes 19:30, 20:00 and 20:30 (60 minutes apart); outside the
    // window nothing is offered.
    let booked = [at("2030-06-03T20:00:00Z")];
    let best = week(&Tally::default(), &Tally::default(), &booked, 2);
    assert_eq!(
        best.iter().map(|b| b.0.as_str()).collect::<Vec<_>>(),
        ["Tue 20:00", "Tue 20:30"]
    );
    let all = week(&Tally::default(), &Tally::default(), &booked, 1000);
    // 10 half hours a day (18:00 to 22:30), 7 days, less Monday's 19:30, 20:00 and 20:30
    // (19:00 and 21:00 are exactly 60 minutes away, which is allowed).
    assert_eq!(all.len(), 70 - 3);
    for (slot, _, _) in &all {
        let hour: u32 = slot[4..6].parse().unwrap();
        assert!((18..23).contains(&hour), "{slot}");
    }
    assert_eq!(HourOfWeek::of(local("2030-06-03T20:15:00")).index(), 20);
}

/// `plan_best` for a request from `from` (or now) within `days`, ending by `window_end`.
fn best_plan(
    from: Option<&str>,
    window_end: Option<&str>,
    days: u32,
    account: &Tally,
) -> Result<scheduler_core::Plan, scheduler_core::Rejection> {
    let rules = instagram();
    let request = scheduler_core::ScheduleRequest {
        requested_for: from.map(at),
        window_end: window_end.map(at),
        now: at("2030-06-01T00:00:00Z"),
    };
    scheduler_core::plan_best(
        &rules,
        Horizon::default(),
        Zone::UTC,
        &score_hours(rules.window, account, &Tally::default()),
        &request,
        days,
        Posts::new(&[at("2030-06-03T20:00:00Z")]).unwrap(),
    )
}

#[test]
fn strategy_best_takes_the_best_free_slot_of_its_span() {
    use scheduler_core::Rejection;
    // Without history, the first free slot at the window's middle; Monday's is taken.
    let plan = best_plan(Some("2030-06-03T00:00:00Z"), None, 7, &Tally::default()).unwrap();
    assert_eq!(plan.scheduled_for, at("2030-06-04T20:00:00Z"));
    assert_eq!(plan.requested_for, at("2030-06-03T00:00:00Z"));
    assert_eq!(plan.reason, "Best slot by platform default");
    assert_eq!(plan.scheduled_window_end, at("2030-06-04T23:00:00Z"));
    assert!(plan.is_adjusted() && plan.adjustments.is_empty());

    // With history, the score to two decimals; no time given: from now.
    let mut account = Tally::default();
    account.add(local("2030-05-09T22:00:00"), 10_000);
    account.add(local("2030-05-09T19:00:00"), 10);
    let plan = best_plan(None, None, 7, &account).unwrap();
    assert_eq!(plan.requested_for, at("2030-06-01T00:00:00Z"));
    assert!(
        plan.reason
            .starts_with("Best slot by engagement history (score 1.00)"),
        "{}",
        plan.reason
    );

    // The client's window end bounds the span and is kept.
    let plan = best_plan(
        Some("2030-06-03T00:00:00Z"),
        Some("2030-06-03T18:30:00Z"),
        7,
        &Tally::default(),
    )
    .unwrap();
    assert_eq!(plan.scheduled_for, at("2030-06-03T18:00:00Z"));
    assert_eq!(plan.scheduled_window_end, at("2030-06-03T18:30:00Z"));
    assert_eq!(
        best_plan(
            Some("2030-06-03T00:00:00Z"),
            Some("2030-06-03T17:59:59Z"),
            7,
            &Tally::default()
        ),
        Err(Rejection::AfterWindowEnd(at("2030-06-03T17:59:59Z")))
    );
    // Without a window end cutting it short: the span was full.
    let full: Vec<_> = (0..7 * 5)
        .map(|i| at("2030-06-03T18:00:00Z") + TimeDelta::days(i / 5) + TimeDelta::hours(i % 5))
        .collect();
    let rules = instagram();
    let request = scheduler_core::ScheduleRequest {
        requested_for: Some(at("2030-06-03T00:00:00Z")),
        window_end: None,
        now: at("2030-06-01T00:00:00Z"),
    };
    let scores = score_hours(rules.window, &Tally::default(), &Tally::default());
    let plan = |days: u32| {
        scheduler_core::plan_best(
            &rules,
            Horizon::default(),
            Zone::UTC,
            &scores,
            &request,
            days,
            Posts::new(&full).unwrap(),
        )
    };
    assert_eq!(
        plan(7),
        Err(Rejection::NoFreeSlot {
            from: at("2030-06-03T00:00:00Z"),
            days: 7
        })
    );
    // Past the longest span, the longest: the next day after the week is free.
    assert_eq!(
        plan(u32::MAX).unwrap().scheduled_for,
        at("2030-06-10T20:00:00Z")
    );
    assert_eq!(
        best_plan(Some("2030-05-31T23:58:00Z"), None, 7, &Tally::default()),
        Err(Rejection::InThePast(at("2030-05-31T23:58:00Z")))
    );
    assert!(matches!(
        best_plan(Some("+10000-01-01T00:00:00Z"), None, 7, &Tally::default()),
        Err(Rejection::OutOfRange { .. })
    ));
}

#[test]
fn strategy_best_asks_in_whole_seconds() {
    let rules = instagram();
    let request = scheduler_core::ScheduleRequest {
        requested_for: None,
        window_end: None,
        now: at("2030-06-01T00:00:00.250Z"),
    };
    let scores = score_hours(rules.window, &Tally::default(), &Tally::default());
    let plan = scheduler_core::plan_best(
        &rules,
        Horizon::default(),
        Zone::UTC,
        &scores,
        &request,
        1,
        Posts::default(),
    )
    .unwrap();
    assert_eq!(plan.requested_for, at("2030-06-01T00:00:01Z"));
}

#[test]
fn slots_are_on_the_accounts_half_hours_and_a_whole_day_window_peaks_at_noon() {
    // Kathmandu is 5:45 ahead of UTC: its 20:00 is 14:15 UTC.
    let rules = instagram();
    let zone: Zone = "Asia/Kathmandu".parse().unwrap();
    let scores = score_hours(rules.window, &Tally::default(), &Tally::default());
    let from = at("2030-06-03T00:00:00Z");
    let slots = suggest(
        &rules,
        Horizon::default(),
        zone,
        &scores,
        Posts::default(),
        (from, from + TimeDelta::days(1)),
        from,
        100,
    );
    assert_eq!(slots[0].at, at("2030-06-03T14:15:00Z"));
    assert!(slots
        .iter()
        .all(|s| zone.local(s.at).format("%M").to_string() == "00"
            || zone.local(s.at).format("%M").to_string() == "30"));
    assert_eq!(slots.len(), 10);

    let all_day = Window::new(0, 24).unwrap();
    // Noon is the middle: the hours on either side of it score best.
    assert_eq!(default_shape(all_day, 11), default_shape(all_day, 12));
    assert!((0..24).all(|h| default_shape(all_day, h) <= default_shape(all_day, 12)));
    assert!(default_shape(all_day, 0) < default_shape(all_day, 6));
    assert!(default_shape(all_day, 23) < default_shape(all_day, 18));
}

#[test]
fn spans_are_one_to_31_days_and_end_with_the_supported_years() {
    use scheduler_core::{latest_supported, span_end};
    let from = at("2030-06-01T00:00:00Z");
    for (days, end) in [
        (0, "2030-06-02T00:00:00Z"),
        (7, "2030-06-08T00:00:00Z"),
        (31, "2030-07-02T00:00:00Z"),
        (u32::MAX, "2030-07-02T00:00:00Z"),
    ] {
        assert_eq!(span_end(from, days), at(end), "{days} days");
    }
    assert_eq!(span_end(at("9999-12-30T00:00:00Z"), 31), latest_supported());
}
