//! The rules file: merge semantics and errors that name the platform and the field.

use scheduler_core::{Platform, RuleSet};

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
    assert_eq!(RuleSet::default().platforms().count(), 3);
}

#[test]
fn a_file_overrides_fields_and_adds_platforms() {
    let file = r#"
        max_horizon_days = 30
        [platforms.instagram]
        min_gap_minutes = 45
        max_posts_per_day = 25
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
