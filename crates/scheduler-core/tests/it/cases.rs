//! Table-driven cases: each row is what a user asks and the slot (and reason) they rely on.

use scheduler_core::{Platform, Posts, RuleSet, ScheduleRequest, Zone};

use crate::at;

/// What a case expects.
#[derive(Debug)]
enum Expect {
    /// Planned at this instant with this reason.
    At(&'static str, &'static str),
    /// Rejected with this reason.
    Rejected(&'static str),
}
use Expect::{At, Rejected};

/// One row: a request on `platform` for an account in `zone` with other posts at `posts`.
#[derive(Debug)]
struct Case {
    name: &'static str,
    rules: &'static str,
    platform: &'static str,
    zone: &'static str,
    now: &'static str,
    requested: Option<&'static str>,
    window_end: Option<&'static str>,
    posts: &'static [&'static str],
    expect: Expect,
}

/// Instagram (18–23, 60 min) in UTC, `now` the day before the seed's example.
const BASE: Case = Case {
    name: "",
    rules: "",
    platform: "instagram",
    zone: "UTC",
    now: "2025-01-14T10:00:00Z",
    requested: None,
    window_end: None,
    posts: &[],
    expect: Rejected("set in each case"),
};

fn check(case: &Case) {
    let rules = RuleSet::from_toml(case.rules).expect("test rules parse");
    let posts: Vec<_> = case.posts.iter().map(|p| at(p)).collect();
    let request = ScheduleRequest {
        requested_for: case.requested.map(at),
        window_end: case.window_end.map(at),
        now: at(case.now),
    };
    let got = rules.plan(
        &Platform::parse(case.platform).unwrap(),
        Zone::parse(case.zone).unwrap(),
        &request,
        Posts::new(&posts).expect("test posts are sorted"),
    );
    match (&case.expect, got) {
        (At(slot, reason), Ok(plan)) => {
            assert_eq!(
                (plan.scheduled_for, plan.reason.as_str()),
                (at(slot), *reason),
                "case {:?}",
                case.name
            );
        }
        (Rejected(reason), Err(rejection)) => {
            assert_eq!(rejection.to_string(), *reason, "case {:?}", case.name);
        }
        (expect, got) => panic!("case {:?}: expected {expect:?}, got {got:?}", case.name),
    }
}

#[test]
fn seed_examples_and_windows() {
    let cases = [
        Case {
            name: "seed: a post at 19:05 pushes a 20:00 request to 20:05",
            requested: Some("2025-01-15T20:00:00Z"),
            posts: &["2025-01-15T19:05:00Z"],
            expect: At(
                "2025-01-15T20:05:00Z",
                "Adjusted 5min forward to respect 60min gap",
            ),
            ..BASE
        },
        Case {
            name: "inside the window, no other post",
            requested: Some("2025-01-15T20:00:00Z"),
            expect: At("2025-01-15T20:00:00Z", "Scheduled as requested"),
            ..BASE
        },
        Case {
            name: "before the window: its start the same day",
            requested: Some("2025-01-15T10:00:00Z"),
            expect: At("2025-01-15T18:00:00Z", "Moved to window start 18:00 UTC"),
            ..BASE
        },
        Case {
            name: "the last second of the window is inside",
            requested: Some("2025-01-15T22:59:59Z"),
            expect: At("2025-01-15T22:59:59Z", "Scheduled as requested"),
            ..BASE
        },
        Case {
            name: "at the window end (excluded): the next day's start",
            requested: Some("2025-01-15T23:00:00Z"),
            expect: At("2025-01-16T18:00:00Z", "Moved to window start 18:00 UTC"),
            ..BASE
        },
        Case {
            name: "after the window end: the next day's start",
            requested: Some("2025-01-15T23:40:00Z"),
            expect: At("2025-01-16T18:00:00Z", "Moved to window start 18:00 UTC"),
            ..BASE
        },
        Case {
            name: "tiktok's window ends at 24: 23:59 is inside",
            platform: "tiktok",
            requested: Some("2025-01-15T23:59:00Z"),
            expect: At("2025-01-15T23:59:00Z", "Scheduled as requested"),
            ..BASE
        },
        Case {
            name: "tiktok at midnight: that day's 16:00",
            platform: "tiktok",
            requested: Some("2025-01-16T00:00:00Z"),
            expect: At("2025-01-16T16:00:00Z", "Moved to window start 16:00 UTC"),
            ..BASE
        },
        Case {
            name: "the window's own end is given when the client gives none",
            requested: Some("2025-01-15T18:30:00Z"),
            window_end: Some("2025-01-15T23:00:00Z"),
            expect: At("2025-01-15T18:30:00Z", "Scheduled as requested"),
            ..BASE
        },
        Case {
            name: "platform names are case-insensitive",
            platform: "Instagram",
            requested: Some("2025-01-15T20:00:00Z"),
            expect: At("2025-01-15T20:00:00Z", "Scheduled as requested"),
            ..BASE
        },
        Case {
            name: "an unknown platform is rejected",
            platform: "myspace",
            requested: Some("2025-01-15T20:00:00Z"),
            expect: Rejected("Unknown platform: myspace"),
            ..BASE
        },
    ];
    cases.iter().for_each(check);
}

#[test]
fn gaps() {
    let cases = [
        Case {
            name: "youtube's 90-minute gap",
            platform: "youtube",
            requested: Some("2025-01-15T17:30:00Z"),
            posts: &["2025-01-15T17:00:00Z"],
            expect: At(
                "2025-01-15T18:30:00Z",
                "Adjusted 60min forward to respect 90min gap",
            ),
            ..BASE
        },
        Case {
            name: "a conflict with a later post moves past it",
            requested: Some("2025-01-15T20:00:00Z"),
            posts: &["2025-01-15T20:30:00Z"],
            expect: At(
                "2025-01-15T21:30:00Z",
                "Adjusted 90min forward to respect 60min gap",
            ),
            ..BASE
        },
        Case {
            name: "exactly one gap apart is fine (before)",
            requested: Some("2025-01-15T20:00:00Z"),
            posts: &["2025-01-15T19:00:00Z"],
            expect: At("2025-01-15T20:00:00Z", "Scheduled as requested"),
            ..BASE
        },
        Case {
            name: "exactly one gap apart is fine (after)",
            requested: Some("2025-01-15T20:00:00Z"),
            posts: &["2025-01-15T21:00:00Z"],
            expect: At("2025-01-15T20:00:00Z", "Scheduled as requested"),
            ..BASE
        },
        Case {
            name: "one second short of the gap conflicts",
            requested: Some("2025-01-15T20:00:00Z"),
            posts: &["2025-01-15T19:00:01Z"],
            expect: At(
                "2025-01-15T20:00:01Z",
                "Adjusted 0min 1s forward to respect 60min gap",
            ),
            ..BASE
        },
        Case {
            name:
                "a chain of pushes fills the evening and lands on the next day, gaps checked there",
            requested: Some("2025-01-15T19:30:00Z"),
            posts: &[
                "2025-01-15T19:00:00Z",
                "2025-01-15T20:00:00Z",
                "2025-01-15T21:00:00Z",
                "2025-01-15T22:00:00Z",
                "2025-01-16T18:20:00Z",
            ],
            expect: At(
                "2025-01-16T19:20:00Z",
                "Adjusted 290min forward to respect 60min gap; Moved to window start 18:00 UTC",
            ),
            ..BASE
        },
        Case {
            name: "gap push that ends exactly at the window end goes to the next day",
            requested: Some("2025-01-15T22:30:00Z"),
            posts: &["2025-01-15T22:00:00Z"],
            expect: At(
                "2025-01-16T18:00:00Z",
                "Adjusted 30min forward to respect 60min gap; Moved to window start 18:00 UTC",
            ),
            ..BASE
        },
        Case {
            name: "posts of other days and far away do not matter",
            requested: Some("2025-01-15T20:00:00Z"),
            posts: &["2025-01-14T20:00:00Z", "2025-01-16T20:00:00Z"],
            expect: At("2025-01-15T20:00:00Z", "Scheduled as requested"),
            ..BASE
        },
        Case {
            name: "a zero gap lets posts share an instant",
            rules: "[platforms.instagram]\nmin_gap_minutes = 0",
            requested: Some("2025-01-15T20:00:00Z"),
            posts: &["2025-01-15T20:00:00Z"],
            expect: At("2025-01-15T20:00:00Z", "Scheduled as requested"),
            ..BASE
        },
    ];
    cases.iter().for_each(check);
}

#[test]
fn crossing_midnight_windows() {
    let night = "[platforms.night]\nstart_hour = 22\nend_hour = 2\nmin_gap_minutes = 30";
    let cases = [
        Case {
            name: "after midnight is inside the window that opened the day before",
            rules: night,
            platform: "night",
            requested: Some("2025-01-16T01:00:00Z"),
            expect: At("2025-01-16T01:00:00Z", "Scheduled as requested"),
            ..BASE
        },
        Case {
            name: "at its end: that evening's start",
            rules: night,
            platform: "night",
            requested: Some("2025-01-16T02:00:00Z"),
            expect: At("2025-01-16T22:00:00Z", "Moved to window start 22:00 UTC"),
            ..BASE
        },
        Case {
            name: "a gap push across midnight stays in the same occurrence",
            rules: night,
            platform: "night",
            requested: Some("2025-01-15T23:50:00Z"),
            posts: &["2025-01-15T23:45:00Z"],
            expect: At(
                "2025-01-16T00:15:00Z",
                "Adjusted 25min forward to respect 30min gap",
            ),
            ..BASE
        },
    ];
    cases.iter().for_each(check);
}

#[test]
fn requested_time_window_end_and_horizon() {
    let cases = [
        Case {
            name: "the client's window end is exceeded",
            requested: Some("2025-01-15T20:00:00Z"),
            window_end: Some("2025-01-15T20:04:59Z"),
            posts: &["2025-01-15T19:05:00Z"],
            expect: Rejected("No available slot before scheduled_window_end 2025-01-15T20:04:59Z"),
            ..BASE
        },
        Case {
            name: "a slot exactly at the client's window end is accepted",
            requested: Some("2025-01-15T20:00:00Z"),
            window_end: Some("2025-01-15T20:05:00Z"),
            posts: &["2025-01-15T19:05:00Z"],
            expect: At(
                "2025-01-15T20:05:00Z",
                "Adjusted 5min forward to respect 60min gap",
            ),
            ..BASE
        },
        Case {
            name: "a window end before the requested time",
            requested: Some("2025-01-15T20:00:00Z"),
            window_end: Some("2025-01-15T19:00:00Z"),
            expect: Rejected("No available slot before scheduled_window_end 2025-01-15T19:00:00Z"),
            ..BASE
        },
        Case {
            name: "horizon exhausted: a fully booked week with a 2-day horizon",
            rules: "max_horizon_days = 2\n[platforms.instagram]\nmax_posts_per_day = 1",
            requested: Some("2025-01-15T18:00:00Z"),
            posts: &[
                "2025-01-15T18:00:00Z",
                "2025-01-16T18:00:00Z",
                "2025-01-17T18:00:00Z",
            ],
            expect: Rejected("No available slot within 2 days"),
            ..BASE
        },
        Case {
            name: "more than 60 s in the past is rejected",
            now: "2025-01-15T20:00:00Z",
            requested: Some("2025-01-15T19:58:59Z"),
            expect: Rejected("scheduled_for is in the past: 2025-01-15T19:58:59Z"),
            ..BASE
        },
        Case {
            name: "exactly 60 s in the past is planned from now",
            now: "2025-01-15T20:00:00Z",
            requested: Some("2025-01-15T19:59:00Z"),
            expect: At("2025-01-15T20:00:00Z", "Moved from a past time to now"),
            ..BASE
        },
        Case {
            name: "slightly in the past, outside the window",
            now: "2025-01-15T12:00:00Z",
            requested: Some("2025-01-15T11:59:30Z"),
            expect: At(
                "2025-01-15T18:00:00Z",
                "Moved from a past time to now; Moved to window start 18:00 UTC",
            ),
            ..BASE
        },
        Case {
            name: "omitted time: next free slot from now, rounded up to a whole second",
            now: "2025-01-15T19:10:30.250Z",
            posts: &["2025-01-15T19:00:00Z"],
            expect: At(
                "2025-01-15T20:00:00Z",
                "Adjusted 49min 29s forward to respect 60min gap",
            ),
            ..BASE
        },
        Case {
            name: "omitted time inside a free window is now",
            now: "2025-01-15T19:10:30Z",
            expect: At("2025-01-15T19:10:30Z", "Scheduled as requested"),
            ..BASE
        },
        Case {
            name: "a requested time past year 9999 is refused, not overflowed",
            requested: Some("+100000-01-01T00:00:00Z"),
            expect: Rejected(
                "scheduled_for is out of range: +100000-01-01T00:00:00Z (supported: years 1970 to 9999)",
            ),
            ..BASE
        },
        Case {
            name: "no slot after the last supported second, though the horizon reaches past it",
            requested: Some("9999-12-31T23:59:59Z"),
            expect: Rejected(
                "No available slot before 9999-12-31T23:59:59Z, the end of the supported years",
            ),
            ..BASE
        },
        Case {
            name: "the last supported day still plans",
            requested: Some("9999-12-31T17:00:00Z"),
            expect: At("9999-12-31T18:00:00Z", "Moved to window start 18:00 UTC"),
            ..BASE
        },
        Case {
            name: "a full last day leaves no slot: the supported years end before the horizon",
            requested: Some("9999-12-31T18:00:00Z"),
            posts: &[
                "9999-12-31T18:00:00Z",
                "9999-12-31T19:00:00Z",
                "9999-12-31T20:00:00Z",
                "9999-12-31T21:00:00Z",
                "9999-12-31T22:00:00Z",
            ],
            expect: Rejected(
                "No available slot before 9999-12-31T23:59:59Z, the end of the supported years",
            ),
            ..BASE
        },
        Case {
            name: "a slot whose window would end after the supported years is refused",
            platform: "tiktok",
            requested: Some("9999-12-31T23:00:00Z"),
            expect: Rejected(
                "No available slot before 9999-12-31T23:59:59Z, the end of the supported years",
            ),
            ..BASE
        },
        Case {
            name: "...unless the client's own window end is inside them",
            platform: "tiktok",
            requested: Some("9999-12-31T23:00:00Z"),
            window_end: Some("9999-12-31T23:59:59Z"),
            expect: At("9999-12-31T23:00:00Z", "Scheduled as requested"),
            ..BASE
        },
        Case {
            name: "a fractional window end is the whole second before it",
            requested: Some("2025-01-15T20:00:00.5Z"),
            window_end: Some("2025-01-15T20:00:00.9Z"),
            expect: Rejected("No available slot before scheduled_window_end 2025-01-15T20:00:00Z"),
            ..BASE
        },
        Case {
            name: "a window end before 1970 is refused",
            requested: Some("2025-01-15T20:00:00Z"),
            window_end: Some("1969-12-31T23:59:59Z"),
            expect: Rejected(
                "scheduled_window_end is out of range: 1969-12-31T23:59:59Z (supported: years 1970 to 9999)",
            ),
            ..BASE
        },
        Case {
            name: "a fractional requested time rounds up, never earlier than asked",
            requested: Some("2025-01-15T20:00:00.001Z"),
            expect: At("2025-01-15T20:00:01Z", "Scheduled as requested"),
            ..BASE
        },
    ];
    cases.iter().for_each(check);
}

#[test]
fn time_zones_and_daylight_saving() {
    let early = "[platforms.early]\nstart_hour = 2\nend_hour = 5\nmin_gap_minutes = 30";
    let late = "[platforms.late]\nstart_hour = 1\nend_hour = 3\nmin_gap_minutes = 30";
    let cases = [
        Case {
            name: "New York in winter: 18:00 EST is 23:00Z",
            zone: "America/New_York",
            requested: Some("2025-01-15T22:00:00Z"),
            expect: At(
                "2025-01-15T23:00:00Z",
                "Moved to window start 18:00 America/New_York",
            ),
            ..BASE
        },
        Case {
            name: "New York in summer: 18:00 EDT is 22:00Z",
            zone: "America/New_York",
            now: "2025-07-01T00:00:00Z",
            requested: Some("2025-07-15T21:00:00Z"),
            expect: At(
                "2025-07-15T22:00:00Z",
                "Moved to window start 18:00 America/New_York",
            ),
            ..BASE
        },
        Case {
            name: "New York: 23:00 EST is outside, the next window is 18:00 EST the next day",
            zone: "America/New_York",
            requested: Some("2025-01-16T04:00:00Z"),
            expect: At(
                "2025-01-16T23:00:00Z",
                "Moved to window start 18:00 America/New_York",
            ),
            ..BASE
        },
        Case {
            name: "spring forward: the evening window is 18:00 EDT that day",
            zone: "America/New_York",
            now: "2025-03-01T00:00:00Z",
            requested: Some("2025-03-09T12:00:00Z"),
            expect: At(
                "2025-03-09T22:00:00Z",
                "Moved to window start 18:00 America/New_York",
            ),
            ..BASE
        },
        Case {
            name: "spring forward: a 02:00 start that does not exist is the first instant after it",
            rules: early,
            platform: "early",
            zone: "America/New_York",
            now: "2025-03-01T00:00:00Z",
            requested: Some("2025-03-09T05:00:00Z"),
            expect: At(
                "2025-03-09T07:00:00Z",
                "Moved to window start 02:00 America/New_York",
            ),
            ..BASE
        },
        Case {
            name: "fall back: an ambiguous 01:00 start is the earlier instant (EDT)",
            rules: late,
            platform: "late",
            zone: "America/New_York",
            now: "2025-11-01T00:00:00Z",
            requested: Some("2025-11-02T04:00:00Z"),
            expect: At(
                "2025-11-02T05:00:00Z",
                "Moved to window start 01:00 America/New_York",
            ),
            ..BASE
        },
        Case {
            name: "fall back: the window lasts three real hours, 02:30 EST is inside",
            rules: late,
            platform: "late",
            zone: "America/New_York",
            now: "2025-11-01T00:00:00Z",
            requested: Some("2025-11-02T07:30:00Z"),
            expect: At("2025-11-02T07:30:00Z", "Scheduled as requested"),
            ..BASE
        },
        Case {
            name:
                "Chatham goes back 03:45 → 02:45: after 03:00 the first time, 02:45 is inside again",
            rules: "[platforms.night]\nstart_hour = 0\nend_hour = 3\nmin_gap_minutes = 0",
            platform: "night",
            zone: "Pacific/Chatham",
            now: "2025-04-05T13:15:00Z",
            requested: None,
            expect: At(
                "2025-04-05T14:00:00Z",
                "Moved to window start 00:00 Pacific/Chatham",
            ),
            ..BASE
        },
        Case {
            name: "Chatham: 02:50 the second time is before a 03:00 start; 03:00 then is inside",
            rules: "[platforms.night]\nstart_hour = 3\nend_hour = 5\nmin_gap_minutes = 0",
            platform: "night",
            zone: "Pacific/Chatham",
            now: "2025-04-01T00:00:00Z",
            requested: Some("2025-04-05T14:05:00Z"),
            expect: At(
                "2025-04-05T14:15:00Z",
                "Moved to window start 03:00 Pacific/Chatham",
            ),
            ..BASE
        },
        Case {
            name: "Troll goes back 03:00 → 01:00: a 01:00–02:00 window occurs twice that night",
            rules: "[platforms.night]\nstart_hour = 1\nend_hour = 2\nmin_gap_minutes = 0",
            platform: "night",
            zone: "Antarctica/Troll",
            now: "2025-10-20T00:00:00Z",
            requested: Some("2025-10-26T00:30:00Z"),
            expect: At(
                "2025-10-26T01:00:00Z",
                "Moved to window start 01:00 Antarctica/Troll",
            ),
            ..BASE
        },
        Case {
            name: "Troll: 01:30 the first time is inside that window too",
            rules: "[platforms.night]\nstart_hour = 1\nend_hour = 2\nmin_gap_minutes = 0",
            platform: "night",
            zone: "Antarctica/Troll",
            now: "2025-10-20T00:00:00Z",
            requested: Some("2025-10-25T23:30:00Z"),
            expect: At("2025-10-25T23:30:00Z", "Scheduled as requested"),
            ..BASE
        },
        Case {
            name: "a +05:30 zone: 18:00 IST is 12:30Z",
            zone: "Asia/Kolkata",
            requested: Some("2025-01-15T10:00:00Z"),
            expect: At(
                "2025-01-15T12:30:00Z",
                "Moved to window start 18:00 Asia/Kolkata",
            ),
            ..BASE
        },
        Case {
            name: "a +05:45 zone with a gap in local time",
            zone: "Asia/Kathmandu",
            requested: Some("2025-01-15T12:15:00Z"),
            posts: &["2025-01-15T12:00:00Z"],
            expect: At(
                "2025-01-15T13:00:00Z",
                "Adjusted 45min forward to respect 60min gap",
            ),
            ..BASE
        },
    ];
    cases.iter().for_each(check);
}

#[test]
fn daily_cap() {
    let capped = "[platforms.instagram]\nmax_posts_per_day = 2";
    let cases = [
        Case {
            name: "a third post within 24 h moves to 24 h after the first",
            rules: capped,
            requested: Some("2025-01-15T21:00:00Z"),
            posts: &["2025-01-15T18:00:00Z", "2025-01-15T20:00:00Z"],
            expect: At(
                "2025-01-16T18:00:00Z",
                "Moved forward to respect 2 posts per 24h",
            ),
            ..BASE
        },
        Case {
            name: "the cap counts later posts too",
            rules: capped,
            requested: Some("2025-01-15T19:00:00Z"),
            posts: &["2025-01-15T21:00:00Z", "2025-01-16T18:30:00Z"],
            expect: At(
                "2025-01-16T21:00:00Z",
                "Moved forward to respect 2 posts per 24h",
            ),
            ..BASE
        },
        Case {
            name: "under the cap nothing moves",
            rules: capped,
            requested: Some("2025-01-15T21:00:00Z"),
            posts: &["2025-01-14T20:00:00Z", "2025-01-15T18:00:00Z"],
            expect: At("2025-01-15T21:00:00Z", "Scheduled as requested"),
            ..BASE
        },
    ];
    cases.iter().for_each(check);
}

/// The window end stored with a log: when the wall clock next leaves the window after the slot.
#[test]
fn window_end_is_when_the_wall_clock_leaves_the_window() {
    // (name, zone, start_hour, end_hour, now, slot, scheduled_window_end)
    let cases = [
        (
            "an ordinary evening",
            "America/New_York",
            18,
            23,
            "2025-01-15T22:00:00Z",
            "2025-01-15T23:00:00Z",
            "2025-01-16T04:00:00Z",
        ),
        (
            "New York goes back 02:00 → 01:00: 01:00–03:00 lasts three hours",
            "America/New_York",
            1,
            3,
            "2025-11-02T04:00:00Z",
            "2025-11-02T05:00:00Z",
            "2025-11-02T08:00:00Z",
        ),
        (
            "Chatham goes back 03:45 → 02:45: the first 03:00 closes a 00:00–03:00 window",
            "Pacific/Chatham",
            0,
            3,
            "2025-04-05T12:00:00Z",
            "2025-04-05T12:00:00Z",
            "2025-04-05T13:15:00Z",
        ),
        (
            "Chatham: open again from the transition to the second 03:00",
            "Pacific/Chatham",
            0,
            3,
            "2025-04-05T13:15:00Z",
            "2025-04-05T14:00:00Z",
            "2025-04-05T14:15:00Z",
        ),
        (
            "Troll skips 01:00–03:00: a 02:00–01:00 window stays open into the next day",
            "Antarctica/Troll",
            2,
            1,
            "2025-03-29T01:00:00Z",
            "2025-03-29T02:00:00Z",
            "2025-03-30T23:00:00Z",
        ),
        (
            "Casey goes back 00:00 → 21:00: a 23:00–22:00 window stays open until 22:00",
            "Antarctica/Casey",
            23,
            22,
            "2021-03-13T11:00:00Z",
            "2021-03-13T12:00:00Z",
            "2021-03-13T14:00:00Z",
        ),
        (
            "Santiago skips midnight: a whole-day window ends at the transition",
            "America/Santiago",
            0,
            24,
            "2025-09-06T12:00:00Z",
            "2025-09-06T12:00:00Z",
            "2025-09-07T04:00:00Z",
        ),
        (
            "a whole-day window ends at midnight",
            "Antarctica/Troll",
            0,
            24,
            "2025-03-29T01:00:00Z",
            "2025-03-29T01:00:00Z",
            "2025-03-30T00:00:00Z",
        ),
    ];
    for (name, zone, start_hour, end_hour, now, slot, window_end) in cases {
        let rules = scheduler_core::PlatformRules {
            window: scheduler_core::Window::new(start_hour, end_hour).unwrap(),
            min_gap: scheduler_core::MinGap::from_minutes(0).unwrap(),
            daily_cap: None,
            retry: Default::default(),
        };
        let request = ScheduleRequest {
            requested_for: None,
            window_end: None,
            now: at(now),
        };
        let plan = scheduler_core::plan(
            &rules,
            scheduler_core::Horizon::default(),
            Zone::parse(zone).unwrap(),
            &request,
            Posts::default(),
        )
        .unwrap();
        assert_eq!(
            (plan.scheduled_for, plan.scheduled_window_end),
            (at(slot), at(window_end)),
            "case {name:?}"
        );
    }
}

#[test]
fn wall_time_tells_every_instant_a_local_time_occurs() {
    use scheduler_core::WallTime::{Once, Skipped, Twice};
    let local = |s: &str| s.parse::<chrono::NaiveDateTime>().unwrap();
    let cases = [
        (
            "UTC",
            "2025-04-06T03:00:00",
            Once(at("2025-04-06T03:00:00Z")),
        ),
        (
            "America/New_York",
            "2025-03-09T02:30:00",
            Skipped(at("2025-03-09T07:00:00Z")),
        ),
        (
            "America/New_York",
            "2025-11-02T01:00:00",
            Twice {
                first: at("2025-11-02T05:00:00Z"),
                back: at("2025-11-02T06:00:00Z"),
                second: at("2025-11-02T06:00:00Z"),
            },
        ),
        (
            "Pacific/Chatham",
            "2025-04-06T03:00:00",
            Twice {
                first: at("2025-04-05T13:15:00Z"),
                back: at("2025-04-05T14:00:00Z"),
                second: at("2025-04-05T14:15:00Z"),
            },
        ),
    ];
    for (zone, time, expected) in cases {
        let zone = Zone::parse(zone).unwrap();
        assert_eq!(zone.wall_time(local(time)), expected, "{zone} {time}");
    }
}
