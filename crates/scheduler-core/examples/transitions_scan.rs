//! Plans around the offset changes of every IANA zone and checks each plan against the wall
//! clock, read minute by minute:
//!
//! - the slot is inside the window, and no earlier minute from `now` on is;
//! - every minute from the slot to `scheduled_window_end` is inside, and the end is not (a
//!   whole-day window instead ends where the local date first changes);
//! - `Zone::wall_time` tells the instants of local times around each change;
//! - a daily series started two days before the change, at every quarter hour of the day,
//!   keeps its local time, and each occurrence is at the instant RFC 5545 gives it: the first
//!   of two, and across a gap the local time read with the offset before the gap.
//!
//! Changes that look alike (same local time of day, same offsets before and after, same
//! neighbouring changes within four days) are planned once: about 240 patterns for 1970–2040.
//! Each is planned with every window (552) and `now` every 15 minutes from 30 hours before the
//! change to 3 hours after. Too slow for the test suite (about a minute in release); the
//! proptest covers chosen zones at random.
//!
//! Run with `cargo run --release -p scheduler-core --example transitions_scan [FROM TO]`
//! (years, default 1970 2040). Prints each wrong plan and the counts; exits 1 if any.

use std::collections::HashMap;
use std::process::ExitCode;

use chrono::{DateTime, NaiveDateTime, Offset, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use scheduler_core::{
    plan, Horizon, MinGap, PlatformRules, Posts, Recurrence, Rrule, ScheduleRequest, WallTime,
    Window, Zone,
};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut year = |default: i32| {
        args.next()
            .map_or(default, |a| a.parse().expect("years are integers"))
    };
    let (from, to) = (year(1970), year(2040));
    let start = Utc
        .with_ymd_and_hms(from, 1, 3, 0, 0, 0)
        .unwrap()
        .timestamp();
    let end = Utc.with_ymd_and_hms(to, 1, 1, 0, 0, 0).unwrap().timestamp();

    let mut patterns: HashMap<Vec<i64>, (Tz, i64)> = HashMap::new();
    let mut changes = 0;
    for tz in chrono_tz::TZ_VARIANTS {
        let found = offset_changes(tz, start, end);
        changes += found.len();
        for &(at, before, after) in &found {
            let mut key = vec![(at + before).rem_euclid(86_400), before, after];
            for &(other, _, then) in &found {
                if other != at && (other - at).abs() <= 4 * 86_400 {
                    key.extend([other - at, then]);
                }
            }
            patterns.entry(key).or_insert((tz, at));
        }
    }
    let mut patterns: Vec<_> = patterns.into_values().collect();
    patterns.sort_by_key(|(tz, at)| (tz.name(), *at));

    let (mut plans, mut wrong, mut occurrences) = (0u64, 0u64, 0u64);
    for &(tz, at) in &patterns {
        let zone = Zone::parse(tz.name()).unwrap();
        wrong += check_wall_time(zone, at);
        let minutes = Minutes::around(zone, at);
        let (checked, bad) = check_series(zone, at, &minutes);
        occurrences += checked;
        wrong += bad;
        for start_hour in 0..24 {
            for end_hour in 1..=24 {
                let Ok(window) = Window::new(start_hour, end_hour) else {
                    continue;
                };
                let table = minutes.inside(window);
                let mut now = instant(at - at.rem_euclid(60)) - TimeDelta::hours(30);
                while now < instant(at) + TimeDelta::hours(3) {
                    plans += 1;
                    if let Err(why) = check_plan(zone, window, now, &minutes, &table) {
                        wrong += 1;
                        println!("{} {window} now {now}: {why}", tz.name());
                    }
                    now += TimeDelta::minutes(15);
                }
            }
        }
    }
    println!(
        "{changes} offset changes {from}–{to} in {} patterns; {plans} plans and {occurrences} series \
         occurrences; {wrong} wrong",
        patterns.len()
    );
    if wrong == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn instant(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

fn offset(tz: Tz, secs: i64) -> i64 {
    let t = instant(secs).naive_utc();
    i64::from(tz.offset_from_utc_datetime(&t).fix().local_minus_utc())
}

/// Every offset change in `[start, end)`: (instant, offset before, offset after), in seconds.
fn offset_changes(tz: Tz, start: i64, end: i64) -> Vec<(i64, i64, i64)> {
    let mut found = Vec::new();
    let (mut t, mut before) = (start, offset(tz, start));
    while t < end {
        let next = t + 3600;
        let after = offset(tz, next);
        if after != before {
            let (mut lo, mut hi) = (t, next);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if offset(tz, mid) == before {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            found.push((hi, before, after));
            before = after;
        }
        t = next;
    }
    found
}

/// The local times of local times within four hours of a change: each must occur at the
/// instants `wall_time` tells. Returns the number wrong.
fn check_wall_time(zone: Zone, at: i64) -> u64 {
    let second = TimeDelta::seconds(1);
    let around = zone.local(instant(at)) - TimeDelta::hours(4);
    let mut wrong = 0;
    for k in 0..=32 {
        let local = around + TimeDelta::minutes(15 * k);
        let told = zone.wall_time(local);
        let right = match told {
            WallTime::Once(t) => zone.local(t) == local,
            WallTime::Skipped(t) => zone.local(t) > local && zone.local(t - second) < local,
            WallTime::Twice {
                first,
                back,
                second: again,
            } => {
                zone.local(first) == local
                    && zone.local(again) == local
                    && first < back
                    && back <= again
                    && zone.local(back) < zone.local(back - second)
            }
        };
        if !right {
            wrong += 1;
            println!("{zone} {local}: wall_time says {told:?}");
        }
    }
    wrong
}

/// Daily series from two days before the change, at each quarter hour: every occurrence keeps
/// the local time, at the instant the wall clock (read minute by minute) gives it. Returns the
/// occurrences checked and the number wrong.
fn check_series(zone: Zone, at: i64, minutes: &Minutes) -> (u64, u64) {
    let day = zone.local(instant(at)).date() - TimeDelta::days(2);
    let rule: Rrule = "FREQ=DAILY;COUNT=5".parse().unwrap();
    let (mut checked, mut wrong) = (0, 0);
    for quarter in 0..96 {
        let dtstart = day.and_hms_opt(quarter / 4, 15 * (quarter % 4), 0).unwrap();
        let series = Recurrence::new(dtstart, rule.clone(), [], zone);
        for (k, occurrence) in series.occurrences().enumerate() {
            checked += 1;
            let local = dtstart + TimeDelta::days(k as i64);
            let expected = wall_clock_instant(zone, local, minutes);
            if occurrence.local != local || Some(occurrence.at) != expected {
                wrong += 1;
                println!("{zone} daily from {dtstart}: occurrence {occurrence:?}, expected {local} at {expected:?}");
            }
        }
    }
    (checked, wrong)
}

/// When the wall clock reads `local`: the earliest instant it does, among the offsets the
/// minutes show; when it never does, `local` read with the offset of the last minute before
/// it. `None` when the minutes do not reach.
fn wall_clock_instant(
    zone: Zone,
    local: NaiveDateTime,
    minutes: &Minutes,
) -> Option<DateTime<Utc>> {
    let utc = |i: usize| minutes.base + 60 * i as i64;
    let mut offsets: Vec<TimeDelta> = minutes
        .local
        .iter()
        .enumerate()
        .map(|(i, l)| *l - instant(utc(i)).naive_utc())
        .collect();
    offsets.sort();
    offsets.dedup();
    let reads = offsets
        .iter()
        .map(|o| (local - *o).and_utc())
        .filter(|t| zone.local(*t) == local)
        .min();
    if reads.is_some() {
        return reads;
    }
    let last_before = minutes.local.iter().rposition(|l| *l < local)?;
    let before = minutes.local[last_before] - instant(utc(last_before)).naive_utc();
    Some((local - before).and_utc())
}

/// The local time of every minute from three days before a change to six days after.
struct Minutes {
    base: i64,
    local: Vec<NaiveDateTime>,
    /// `date_changes[i]`: how many times the local date changed before minute `i`.
    date_changes: Vec<u32>,
}

impl Minutes {
    fn around(zone: Zone, at: i64) -> Self {
        let base = at - at.rem_euclid(60) - 3 * 86_400;
        let local: Vec<_> = (0..9 * 1440)
            .map(|m| zone.local(instant(base + 60 * m)))
            .collect();
        let mut date_changes = vec![0];
        for (m, l) in local.iter().enumerate() {
            let changed = m > 0 && l.date() != local[m - 1].date();
            date_changes.push(date_changes[m] + u32::from(changed));
        }
        Minutes {
            base,
            local,
            date_changes,
        }
    }

    /// `inside[i]`: how many of the minutes before minute `i` are inside the window.
    fn inside(&self, window: Window) -> Vec<u32> {
        let mut inside = vec![0];
        for (m, l) in self.local.iter().enumerate() {
            inside.push(inside[m] + u32::from(window.contains_hour(l.hour())));
        }
        inside
    }

    /// The index of the first minute at or after `t`.
    fn index(&self, t: DateTime<Utc>) -> Option<usize> {
        let i = (t.timestamp() - self.base + 59).div_euclid(60);
        usize::try_from(i).ok().filter(|i| *i < self.local.len())
    }
}

fn check_plan(
    zone: Zone,
    window: Window,
    now: DateTime<Utc>,
    minutes: &Minutes,
    inside_before: &[u32],
) -> Result<(), String> {
    let rules = PlatformRules {
        window,
        min_gap: MinGap::from_minutes(0).unwrap(),
        daily_cap: None,
        retry: Default::default(),
    };
    let request = ScheduleRequest {
        requested_for: None,
        window_end: None,
        now,
    };
    let plan = plan(&rules, Horizon::default(), zone, &request, Posts::default())
        .map_err(|e| format!("rejected: {e}"))?;
    let (slot, end) = (plan.scheduled_for, plan.scheduled_window_end);
    let inside = |t: DateTime<Utc>| window.contains_hour(zone.local(t).hour());
    let (Some(n), Some(s), Some(e)) = (minutes.index(now), minutes.index(slot), minutes.index(end))
    else {
        return Err(format!("slot {slot}, end {end}: beyond the minutes read"));
    };
    let says = format!("slot {slot}, end {end}");
    if !inside(slot) {
        return Err(format!("{says}: the slot is outside"));
    }
    if slot > now && inside(slot - TimeDelta::seconds(1)) || inside_before[s] != inside_before[n] {
        return Err(format!("{says}: an earlier instant is inside"));
    }
    if end <= slot {
        return Err(format!("{says}: the end is not after the slot"));
    }
    if window.start_hour() == window.end_hour() % 24 {
        let date = zone.local(slot).date();
        let same_day = minutes.date_changes[e] == minutes.date_changes[(s + 1).min(e)]
            && zone.local(end - TimeDelta::seconds(1)).date() == date;
        if !same_day || zone.local(end).date() == date {
            return Err(format!(
                "{says}: a whole day ends where the date first changes"
            ));
        }
    } else if inside_before[e] - inside_before[s] != u32::try_from(e - s).unwrap() {
        return Err(format!("{says}: a minute before the end is outside"));
    } else if inside(end) {
        return Err(format!("{says}: the end is inside"));
    }
    Ok(())
}
