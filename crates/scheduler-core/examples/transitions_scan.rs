//! Plans around every offset change of every IANA zone and checks each plan against the wall
//! clock, minute by minute: the slot is the first minute whose local hour is inside the window,
//! and every minute from the slot to `scheduled_window_end` is inside it while the end is not
//! (a whole-day window ends at midnight, inside).
//!
//! Too slow for the test suite (about a minute in release); the proptest covers chosen zones.
//! Run with `cargo run --release -p scheduler-core --example transitions_scan [FROM_YEAR TO_YEAR]`
//! (default 1970 2040). Prints each wrong plan and a count; exits 1 if any.

use std::process::ExitCode;

use chrono::{DateTime, Offset, TimeDelta, TimeZone, Timelike, Utc};
use scheduler_core::{plan, Horizon, MinGap, PlatformRules, Posts, ScheduleRequest, Window, Zone};

/// Windows tried per transition, drawn at random.
const WINDOWS_PER_TRANSITION: usize = 6;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut year = |default: i32| {
        args.next()
            .map_or(default, |a| a.parse().expect("years are integers"))
    };
    let (from, to) = (year(1970), year(2040));
    let start = Utc.with_ymd_and_hms(from, 1, 2, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(to, 1, 1, 0, 0, 0).unwrap();
    let step = TimeDelta::minutes(30);
    // xorshift: the same windows every run.
    let mut seed = 12345u64;
    let mut random = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let (mut checked, mut wrong) = (0u64, 0u64);
    for tz in chrono_tz::TZ_VARIANTS {
        let zone = Zone::parse(tz.name()).unwrap();
        let offset = |t: DateTime<Utc>| {
            tz.offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc()
        };
        let mut t = start;
        while t < end {
            let next = t + step;
            if offset(next) != offset(t) {
                for _ in 0..WINDOWS_PER_TRANSITION {
                    let start_hour = u8::try_from(random(24)).unwrap();
                    let end_hour = u8::try_from(1 + random(24)).unwrap();
                    let Ok(window) = Window::new(start_hour, end_hour) else {
                        continue;
                    };
                    let now = t - step * i32::try_from(random(60)).unwrap();
                    checked += 1;
                    if let Err(why) = check(zone, window, now) {
                        wrong += 1;
                        println!("{} {window} now {now}: {why}", tz.name());
                    }
                }
            }
            t = next;
        }
    }
    println!("{checked} plans around the transitions of {from}–{to}, {wrong} wrong");
    if wrong == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn check(zone: Zone, window: Window, now: DateTime<Utc>) -> Result<(), String> {
    let rules = PlatformRules {
        window,
        min_gap: MinGap::from_minutes(0).unwrap(),
        daily_cap: None,
    };
    let request = ScheduleRequest {
        requested_for: None,
        window_end: None,
        now,
    };
    let plan = plan(&rules, Horizon::default(), zone, &request, Posts::default())
        .map_err(|e| format!("rejected: {e}"))?;
    let inside = |t: DateTime<Utc>| window.contains_hour(zone.local(t).hour());
    let (slot, window_end) = (plan.scheduled_for, plan.scheduled_window_end);
    let minute = TimeDelta::minutes(1);
    let mut m = now;
    while m < slot {
        if inside(m) {
            return Err(format!("slot {slot}, but {m} is inside"));
        }
        m += minute;
    }
    let mut m = slot;
    while m < window_end {
        if !inside(m) {
            return Err(format!(
                "slot {slot}, window end {window_end}, but {m} is outside"
            ));
        }
        m += minute;
    }
    let whole_day = window.start_hour() == window.end_hour() % 24;
    if inside(window_end) && !whole_day {
        return Err(format!("slot {slot}, window end {window_end} is inside"));
    }
    Ok(())
}
