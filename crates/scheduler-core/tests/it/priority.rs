//! Displacement by priority (contract section 12, guarantee 8) against the brute-force oracle
//! of `props`: the account's posts are made valid among themselves by planning them one by
//! one (as the store does), then a `high` request comes. Afterwards every post keeps every
//! rule, no post moved earlier, only lower-priority scheduled posts due at least 15 minutes
//! ahead moved, and each moved post is at the earliest valid minute from its old time given
//! all the others.

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use scheduler_core::{
    plan, plan_with_priority, Horizon, Neighbour, Posts, Priority, ScheduleRequest,
    DISPLACEMENT_NOTICE,
};

use crate::props::{input, minutes, valid, Input};

/// The posts of `input` made valid among themselves, each with a priority, a status and
/// perhaps a window end its client gave (0 to 4 hours after it).
fn account(input: &Input, kinds: &[(u8, bool, Option<u8>)]) -> Vec<Neighbour> {
    let mut placed: Vec<DateTime<Utc>> = Vec::new();
    let mut neighbours: Vec<Neighbour> = Vec::new();
    for (wanted, (rank, scheduled, end)) in input.posts.iter().zip(kinds) {
        let request = ScheduleRequest {
            requested_for: Some(*wanted),
            window_end: None,
            now: *wanted,
        };
        let Ok(p) = plan(
            &input.rules,
            Horizon::default(),
            input.zone,
            &request,
            Posts::new(&placed).unwrap(),
        ) else {
            continue;
        };
        let at = placed.partition_point(|t| *t <= p.scheduled_for);
        placed.insert(at, p.scheduled_for);
        neighbours.insert(
            at,
            Neighbour {
                at: p.scheduled_for,
                priority: Priority::from_rank(i16::from(*rank)).unwrap(),
                scheduled: *scheduled,
                window_end: end.map(|m| p.scheduled_for + minutes(i64::from(m) * 15)),
            },
        );
    }
    neighbours
}

/// Whether `t` keeps every rule among `others`.
fn valid_among(input: &Input, t: DateTime<Utc>, others: Vec<DateTime<Utc>>) -> bool {
    let mut others = others;
    others.sort_unstable();
    valid(
        &Input {
            posts: others,
            ..input.clone()
        },
        t,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn displacement_keeps_every_rule_and_moves_only_what_it_must(
        input in input(),
        kinds in proptest::collection::vec(
            (0u8..3, proptest::bool::weighted(0.8), proptest::option::weighted(0.3, 0u8..16)),
            16,
        ),
    ) {
        let neighbours = account(&input, &kinds);
        let request = ScheduleRequest { requested_for: input.requested, window_end: None, now: input.now };
        let times: Vec<_> = neighbours.iter().map(|n| n.at).collect();
        let ordinary = plan(&input.rules, Horizon::default(), input.zone, &request, Posts::new(&times).unwrap());
        let result = plan_with_priority(&input.rules, Horizon::default(), input.zone, &request,
            Priority::High, &neighbours, None, "log_new");
        let Ok(result) = result else {
            prop_assert!(ordinary.is_err(), "refused though an ordinary plan exists");
            return Ok(());
        };
        // Where every post is afterwards.
        let mut finals = times.clone();
        for d in &result.displaced {
            prop_assert_eq!(finals[d.index], d.from);
            finals[d.index] = d.plan.scheduled_for;
        }
        let new = result.plan.scheduled_for;
        match &ordinary {
            Ok(o) if result.displaced.is_empty() => prop_assert_eq!(&result.plan, o),
            Ok(o) => prop_assert!(new < o.scheduled_for, "displaced for nothing: {new} >= {}", o.scheduled_for),
            Err(_) => {}
        }
        if !result.displaced.is_empty() {
            let said = format!("; displaced {} lower-priority post", result.displaced.len());
            prop_assert!(result.plan.reason.ends_with(&format!("{said}s")), "{}", result.plan.reason);
        }
        // Every post keeps every rule among all the others.
        let everyone: Vec<_> = finals.iter().copied().chain([new]).collect();
        for (i, t) in everyone.iter().enumerate() {
            let others: Vec<_> = everyone.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, o)| *o).collect();
            prop_assert!(valid_among(&input, *t, others), "post {i} at {t} breaks a rule");
        }
        for d in &result.displaced {
            let n = neighbours[d.index];
            prop_assert!(n.scheduled && n.priority < Priority::High && n.at >= input.now + DISPLACEMENT_NOTICE,
                "moved a post that may not move: {n:?}");
            prop_assert!(d.plan.scheduled_for > n.at, "moved earlier: {n:?} to {}", d.plan.scheduled_for);
            if let Some(end) = n.window_end {
                prop_assert!(d.plan.scheduled_for <= end, "past its window end: {n:?} to {}", d.plan.scheduled_for);
            }
            prop_assert_eq!(&d.plan.reason, "Displaced by higher-priority log_new");
            // The earliest valid minute from its old time, given all the others.
            let others: Vec<_> = everyone.iter().enumerate().filter(|(j, _)| *j != d.index).map(|(_, o)| *o).collect();
            let mut m = n.at;
            while m < d.plan.scheduled_for {
                prop_assert!(!valid_among(&input, m, others.clone()), "{m} was free for {n:?}");
                m += minutes(1);
            }
        }
    }
}

/// Instagram's defaults (18:00–23:00 UTC, 60 minutes apart) and posts at the given times.
fn instagram(posts: &[(&str, Priority, bool)]) -> (scheduler_core::PlatformRules, Vec<Neighbour>) {
    let rules = *scheduler_core::RuleSet::default()
        .get(&scheduler_core::Platform::instagram())
        .unwrap();
    let neighbours = posts
        .iter()
        .map(|(t, priority, scheduled)| Neighbour {
            at: crate::at(t),
            priority: *priority,
            scheduled: *scheduled,
            window_end: None,
        })
        .collect();
    (rules, neighbours)
}

/// `check(posts, request at, priority, now) → (slot, reason, [(index, new slot)])`.
fn check(
    posts: &[(&str, Priority, bool)],
    at: &str,
    priority: Priority,
    now: &str,
    expected: (&str, &str, &[(usize, &str)]),
) {
    let (rules, neighbours) = instagram(posts);
    let request = ScheduleRequest {
        requested_for: Some(crate::at(at)),
        window_end: None,
        now: crate::at(now),
    };
    let got = plan_with_priority(
        &rules,
        Horizon::default(),
        scheduler_core::Zone::UTC,
        &request,
        priority,
        &neighbours,
        None,
        "log_vip",
    )
    .unwrap();
    assert_eq!(
        got.plan.scheduled_for,
        crate::at(expected.0),
        "{posts:?} {at}"
    );
    assert_eq!(got.plan.reason, expected.1);
    let moved: Vec<(usize, DateTime<Utc>)> = got
        .displaced
        .iter()
        .map(|d| (d.index, d.plan.scheduled_for))
        .collect();
    let wanted: Vec<(usize, DateTime<Utc>)> =
        expected.2.iter().map(|(i, t)| (*i, crate::at(t))).collect();
    assert_eq!(moved, wanted);
    for d in &got.displaced {
        assert_eq!(d.plan.reason, "Displaced by higher-priority log_vip");
    }
}

#[test]
fn cases() {
    use Priority::{High, Low, Normal};
    let now = "2030-06-15T12:00:00Z";
    // A normal request waits its turn.
    check(
        &[("2030-06-15T19:00:00Z", Normal, true)],
        "2030-06-15T19:00:00Z",
        Normal,
        now,
        (
            "2030-06-15T20:00:00Z",
            "Adjusted 60min forward to respect 60min gap",
            &[],
        ),
    );
    // A high one takes the slot; the normal post moves to the next one, and the one after it
    // too, in their old order.
    check(
        &[
            ("2030-06-15T19:00:00Z", Normal, true),
            ("2030-06-15T20:00:00Z", Low, true),
        ],
        "2030-06-15T19:00:00Z",
        High,
        now,
        (
            "2030-06-15T19:00:00Z",
            "Scheduled as requested; displaced 2 lower-priority posts",
            &[(0, "2030-06-15T20:00:00Z"), (1, "2030-06-15T21:00:00Z")],
        ),
    );
    // A post 30 minutes before the request moves past it; one out of reach stays.
    check(
        &[
            ("2030-06-15T18:30:00Z", Low, true),
            ("2030-06-15T22:00:00Z", Low, true),
        ],
        "2030-06-15T19:00:00Z",
        High,
        now,
        (
            "2030-06-15T19:00:00Z",
            "Scheduled as requested; displaced 1 lower-priority posts",
            &[(0, "2030-06-15T20:00:00Z")],
        ),
    );
    // Another high post, a post that is no longer scheduled, and one due within 15 minutes
    // hold their slots.
    for (priority, scheduled) in [(High, true), (Normal, false)] {
        check(
            &[("2030-06-15T19:00:00Z", priority, scheduled)],
            "2030-06-15T19:00:00Z",
            High,
            now,
            (
                "2030-06-15T20:00:00Z",
                "Adjusted 60min forward to respect 60min gap",
                &[],
            ),
        );
    }
    check(
        &[("2030-06-15T19:10:00Z", Normal, true)],
        "2030-06-15T19:00:00Z",
        High,
        "2030-06-15T18:56:00Z",
        (
            "2030-06-15T20:10:00Z",
            "Adjusted 70min forward to respect 60min gap",
            &[],
        ),
    );
    // A post out of reach of every change is not touched, even one the rules would refuse
    // now (outside the window, as after a change of the rules file).
    check(
        &[
            ("2030-06-15T19:00:00Z", Normal, true),
            ("2030-09-15T23:30:00Z", Low, true),
        ],
        "2030-06-15T19:00:00Z",
        High,
        now,
        (
            "2030-06-15T19:00:00Z",
            "Scheduled as requested; displaced 1 lower-priority posts",
            &[(0, "2030-06-15T20:00:00Z")],
        ),
    );
    // Nothing to gain: the window's start comes first either way.
    check(
        &[("2030-06-15T16:00:00Z", Normal, true)],
        "2030-06-15T15:00:00Z",
        High,
        now,
        (
            "2030-06-15T18:00:00Z",
            "Moved to window start 18:00 UTC",
            &[],
        ),
    );
}

/// A displaced post never lands after the window end its client gave: when it would, nothing
/// is displaced. Nor when its plan would need posts from before what the store read.
#[test]
fn window_ends_and_what_was_read_bound_displacement() {
    let (rules, mut neighbours) = instagram(&[("2030-06-15T22:00:00Z", Priority::Normal, true)]);
    let request = ScheduleRequest {
        requested_for: Some(crate::at("2030-06-15T22:00:00Z")),
        window_end: None,
        now: crate::at("2030-06-15T12:00:00Z"),
    };
    let run = |neighbours: &[Neighbour], known_from: Option<&str>| {
        plan_with_priority(
            &rules,
            Horizon::default(),
            scheduler_core::Zone::UTC,
            &request,
            Priority::High,
            neighbours,
            known_from.map(crate::at),
            "log_vip",
        )
        .unwrap()
    };
    // Displaced to 23:00 is outside the window: the next day's 18:00.
    let free = run(&neighbours, None);
    assert_eq!(
        free.displaced[0].plan.scheduled_for,
        crate::at("2030-06-16T18:00:00Z")
    );
    neighbours[0].window_end = Some(crate::at("2030-06-15T23:00:00Z"));
    let bound = run(&neighbours, None);
    assert!(bound.displaced.is_empty());
    assert_eq!(bound.plan.scheduled_for, crate::at("2030-06-16T18:00:00Z"));
    neighbours[0].window_end = None;
    let unread = run(&neighbours, Some("2030-06-15T21:30:00Z"));
    assert!(unread.displaced.is_empty());
}
