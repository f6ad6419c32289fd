//! The rules file: merge semantics and errors that name the platform and the field.

use chrono::{DateTime, Utc};
use scheduler_core::{Platform, Posts, RetryPolicy, RuleSet, Zone};

fn check_ok(toml: &str, platform: &str, expected: (u8, u8, u16, Option<usize>)) {
    let rules = RuleSet::from_toml(toml).unwrap_or_else(|e| panic!("{toml:?}: {e}"));
    let r = rules.get(&Platform::parse(platform).unwrap()).unwrap();
    let got = (
        r.window.start_hour(),
        r.window.end_hour(),
        r.min_gap.minutes(),
        r.daily_cap.map(|c| c.posts()),
    );
    assert_eq!(got, expected, "{toml:?}");
}

fn check_err(toml: &str, expected: &str) {
    let err = RuleSet::from_toml(toml).expect_err(toml).to_string();
    assert!(
        err.contains(expected),
        "{toml:?}: got {err:?}, expected it to contain {expected:?}"
    );
}

#[test]
fn defaults_are_the_seeds() {
    check_ok("", "instagram", (18, 23, 60, None));
    check_ok("", "tiktok", (16, 24, 30, None));
    check_ok("", "youtube", (17, 22, 90, None));
    assert_eq!(RuleSet::default().horizon().days(), 365);
    assert_eq!(RuleSet::default().series_horizon().days(), 14);
    assert_eq!(RuleSet::default().platforms().count(), 3);
}

#[test]
fn a_file_overrides_fields_and_adds_platforms() {
    let file = r#"
        max_horizon_days = 30
        series_horizon_days = 28
        [platforms.instagram]
        min_gap_minutes = 45
        max_posts_per_day = 25
        max_attempts = 3
        retry_base_seconds = 120
        [platforms.threads]
        start_hour = 22
        end_hour = 2
        min_gap_minutes = 15
    "#;
    check_ok(file, "instagram", (18, 23, 45, Some(25)));
    check_ok(file, "threads", (22, 2, 15, None));
    check_ok(file, "youtube", (17, 22, 90, None));
    let rules = RuleSet::from_toml(file).unwrap();
    assert_eq!(rules.horizon().days(), 30);
    assert_eq!(rules.series_horizon().days(), 28);
    let retry = |name: &str| rules.get(&Platform::parse(name).unwrap()).unwrap().retry;
    assert_eq!(retry("instagram"), RetryPolicy::new(3, 120).unwrap());
    assert_eq!(retry("threads"), RetryPolicy::default());
    assert_eq!(
        (
            retry("youtube").max_attempts(),
            retry("youtube").base_seconds()
        ),
        (5, 60)
    );
    assert!(rules
        .get(&Platform::parse("threads").unwrap())
        .unwrap()
        .window
        .crosses_midnight());
}

#[test]
fn bad_files_name_the_platform_and_field() {
    let cases = [
        (
            "[platforms.instagram]\nstart_hour = 24",
            "platform `instagram`: field `start_hour` must be in 0..=23, got 24",
        ),
        (
            "[platforms.instagram]\nend_hour = 0",
            "platform `instagram`: field `end_hour` must be in 1..=24, got 0",
        ),
        (
            "[platforms.instagram]\nend_hour = 18",
            "platform `instagram`: field `end_hour` must differ from start_hour (18)",
        ),
        (
            "[platforms.tiktok]\nmin_gap_minutes = -1",
            "platform `tiktok`: field `min_gap_minutes` must be in 0..=10080, got -1",
        ),
        (
            "[platforms.tiktok]\nmin_gap_minutes = 10081",
            "platform `tiktok`: field `min_gap_minutes` must be in 0..=10080, got 10081",
        ),
        (
            "[platforms.youtube]\nmax_posts_per_day = 0",
            "platform `youtube`: field `max_posts_per_day` must be in 1..=1440, got 0",
        ),
        (
            "[platforms.youtube]\nmax_posts_per_day = 1441",
            "platform `youtube`: field `max_posts_per_day` must be in 1..=1440, got 1441",
        ),
        (
            "[platforms.youtube]\nmax_attempts = 0",
            "platform `youtube`: field `max_attempts` must be in 1..=100, got 0",
        ),
        (
            "[platforms.youtube]\nretry_base_seconds = 21601",
            "platform `youtube`: field `retry_base_seconds` must be in 1..=21600, got 21601",
        ),
        (
            "[platforms.threads]\nstart_hour = 9\nend_hour = 17",
            "platform `threads`: field `min_gap_minutes` is required",
        ),
        (
            "[platforms.threads]\nmin_gap_minutes = 9",
            "platform `threads`: field `start_hour` is required",
        ),
        (
            "[platforms.\"My Space\"]\nstart_hour = 9\nend_hour = 17\nmin_gap_minutes = 1",
            "platform `My Space`: field `name`",
        ),
        (
            "max_horizon_days = 0",
            "field `max_horizon_days` must be in 1..=3650, got 0",
        ),
        (
            "series_horizon_days = 366",
            "field `series_horizon_days` must be in 1..=365, got 366",
        ),
        (
            "[platforms.instagram]\nstart_hours = 9",
            "unknown field `start_hours`",
        ),
        ("[platforms.instagram]\nstart_hour = \"18\"", "start_hour"),
        ("[platforms.instagram\n", "TOML parse error"),
    ];
    for (toml, expected) in cases {
        check_err(toml, expected);
    }
}

/// A retry is planned like any post: its backoff gives the earliest time, and the window, the
/// gap and the cap move it from there.
#[test]
fn a_retry_whose_backoff_ends_after_the_window_waits_for_the_next_one() {
    let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let rules = RuleSet::default();
    let policy = RetryPolicy::default();
    let check = |attempt: u32, failed_at: &str, jitter: f64, others: &[&str], expected: &str| {
        let others: Vec<DateTime<Utc>> = others.iter().map(|t| at(t)).collect();
        let request = policy.retry_request(attempt, jitter, at(failed_at));
        let plan = rules
            .plan(
                &Platform::instagram(),
                Zone::UTC,
                &request,
                Posts::new(&others).unwrap(),
            )
            .unwrap();
        assert_eq!(
            plan.scheduled_for,
            at(expected),
            "attempt {attempt} failed at {failed_at}, jitter {jitter}: {}",
            plan.reason
        );
    };
    // The first failure at 22:59:30: 60 s ± 6 s later is past 23:00, the window's end.
    for jitter in [-1.0, 0.0, 1.0] {
        check(
            1,
            "2026-03-02T22:59:30Z",
            jitter,
            &[],
            "2026-03-03T18:00:00Z",
        );
    }
    // The third at 22:50: 16 min ± 1.6 later.
    for jitter in [-1.0, 0.0, 1.0] {
        check(
            3,
            "2026-03-02T22:50:00Z",
            jitter,
            &[],
            "2026-03-03T18:00:00Z",
        );
    }
    // Inside the window the backoff is the wait, and the gap still holds.
    check(1, "2026-03-02T20:00:00Z", 0.0, &[], "2026-03-02T20:01:00Z");
    check(
        2,
        "2026-03-02T20:00:00Z",
        0.0,
        &["2026-03-02T20:30:00Z"],
        "2026-03-02T21:30:00Z",
    );
    // Six hours at most: the fifth failure at 19:00 waits 4 h 16 min, to 23:16, and so the
    // next window.
    check(5, "2026-03-02T19:00:00Z", 0.0, &[], "2026-03-03T18:00:00Z");
}
