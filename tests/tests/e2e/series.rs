//! Guarantee 7: a series makes each occurrence exactly once, at its RFC 5545 local time,
//! across DST. Series made through the api-server (one day ahead) are made a year ahead by
//! four tick-runners at once: a weekly series in New York keeps 18:30 across the March and
//! November changes, a monthly last-Friday series in Sydney keeps 19:00 across April's and
//! October's, `COUNT` and `UNTIL` end when they say, and twenty daily series on ten accounts
//! give the ticks something to share.

use std::collections::{BTreeSet, HashMap};
use std::sync::Barrier;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, Utc, Weekday};
use diesel::prelude::*;
use e2e::{json_lines, tick_once, Audit, Server, TestDb};
use scheduler_core::{WallTime, Zone};
use serde_json::json;

use crate::both_backends;

/// A rules file with `series_horizon_days = days`, removed when dropped.
struct Rules(std::path::PathBuf);

impl Rules {
    fn horizon(days: u16) -> Self {
        let path = std::env::temp_dir().join(format!(
            "rules-series-{days}-{}-{}.toml",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&path, format!("series_horizon_days = {days}\n")).unwrap();
        Self(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Rules {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Each series' (occurrence, scheduled_for) pairs, read from the table.
fn occurrences(db: &TestDb) -> HashMap<String, Vec<(NaiveDateTime, DateTime<Utc>)>> {
    use scheduler_store::schema::publish_logs::dsl as p;
    let rows: Vec<(Option<String>, Option<String>, Option<NaiveDateTime>)> = p::publish_logs
        .filter(p::series_id.is_not_null())
        .select((p::series_id, p::occurrence, p::scheduled_for))
        .load(&mut db.conn())
        .unwrap();
    let mut by_series: HashMap<String, Vec<(NaiveDateTime, DateTime<Utc>)>> = HashMap::new();
    for (series, occurrence, at) in rows {
        let local = scheduler_core::parse_local(&occurrence.unwrap()).unwrap();
        by_series
            .entry(series.unwrap())
            .or_default()
            .push((local, at.unwrap().and_utc()));
    }
    for list in by_series.values_mut() {
        list.sort();
    }
    by_series
}

/// The one instant `local` names in `zone` (none of these tests' times falls in a change).
fn once(zone: Zone, local: NaiveDateTime) -> DateTime<Utc> {
    match zone.wall_time(local) {
        WallTime::Once(at) => at,
        other => panic!("{local} is not one instant: {other:?}"),
    }
}

/// Whether `day` is the last `weekday` of its month.
fn last_of_month(day: NaiveDate) -> bool {
    (day + TimeDelta::days(7)).month() != day.month()
}

both_backends! {
    fn four_tick_runners_make_each_occurrence_once_at_its_local_time(backend) {
        let db = TestDb::new(backend);
        let (day_ahead, year_ahead) = (Rules::horizon(1), Rules::horizon(365));
        let server = Server::start(&db.url, &["--rules", day_ahead.path()]);
        let ok = |path: &str, body: serde_json::Value| {
            let r = server.post(path, &body);
            assert!(r.status == 201, "{path} {body}: {} {}", r.status, r.text);
            r.body
        };
        ok("/clips", json!({"id": "clip_e2e"}));
        for (id, zone) in [("acc_ny", "America/New_York"), ("acc_syd", "Australia/Sydney"), ("acc_utc", "UTC")] {
            ok("/accounts", json!({"id": id, "platform": "instagram", "timezone": zone}));
        }
        // Two days ahead in every zone: the server's one-day horizon makes none of them.
        let start = (Utc::now() + TimeDelta::days(2)).date_naive();
        let until = start + TimeDelta::days(30);
        let series = |account: &str, time: &str, rule: &str| -> String {
            let body = json!({"clip_id": "clip_e2e", "social_account_id": account, "platform": "instagram",
                              "dtstart": format!("{start}T{time}"), "rrule": rule});
            ok("/publishing/series", body)["id"].as_str().unwrap().to_owned()
        };
        let ny = series("acc_ny", "18:30:00", "FREQ=WEEKLY");
        let sydney = series("acc_syd", "19:00:00", "FREQ=MONTHLY;BYDAY=-1FR");
        let counted = series("acc_utc", "19:00:00", "FREQ=DAILY;COUNT=5");
        let until_rule = format!("FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL={}", until.format("%Y%m%d"));
        let ended = series("acc_utc", "21:00:00", &until_rule);
        let mut daily = Vec::new();
        for n in 0..10 {
            let account = format!("acc_load_{n}");
            ok("/accounts", json!({"id": account, "platform": "instagram", "timezone": "UTC"}));
            daily.push(series(&account, "18:00:00", "FREQ=DAILY"));
            daily.push(series(&account, "20:00:00", "FREQ=DAILY"));
        }
        assert!(occurrences(&db).is_empty(), "the server's day-ahead horizon made nothing yet");

        // Four tick-runners at once, a few series per transaction so that they interleave.
        let ticks_from = Utc::now();
        let barrier = Barrier::new(4);
        let made: Vec<u64> = std::thread::scope(|s| {
            let runners: Vec<_> = (0..4).map(|_| {
                let (url, barrier, rules) = (&db.url, &barrier, year_ahead.path());
                s.spawn(move || {
                    barrier.wait();
                    let output = tick_once(url, &["--rules", rules, "--batch-size", "3"]);
                    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
                    json_lines(&output)[0]["occurrences_made"].as_u64().unwrap()
                })
            }).collect();
            runners.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let ticks_to = Utc::now();
        let by_series = occurrences(&db);
        let total: usize = by_series.values().map(Vec::len).sum();
        assert!(total > 20 * 360, "{total} logs: a year of the daily series and the others");
        assert_eq!(made.iter().sum::<u64>(), total as u64, "each runner's count: {made:?}");
        assert!(made.iter().filter(|m| **m > 0).count() >= 2 || backend == e2e::Backend::Sqlite,
                "on PostgreSQL the runners share the series: {made:?}");
        for (id, list) in &by_series {
            let distinct: BTreeSet<_> = list.iter().map(|(local, _)| local).collect();
            assert_eq!(distinct.len(), list.len(), "an occurrence of {id} made twice");
        }
        // The occurrences made are those before the horizon's end (which moved on while the
        // runners ran: one falling in between may or may not be made).
        let check = |id: &str, expected: Vec<NaiveDateTime>, zone: Zone| {
            let got: Vec<NaiveDateTime> = by_series.get(id).map(|l| l.iter().map(|(o, _)| *o).collect()).unwrap_or_default();
            let sure: Vec<NaiveDateTime> = expected.iter().copied().filter(|l| once(zone, *l) < ticks_from + TimeDelta::days(365)).collect();
            let maybe: Vec<NaiveDateTime> = expected.iter().copied().filter(|l| once(zone, *l) < ticks_to + TimeDelta::days(365)).collect();
            assert!(got == sure || got == maybe, "{id}: got {} occurrences, expected {} or {}", got.len(), sure.len(), maybe.len());
        };
        let new_york = Zone::parse("America/New_York").unwrap();
        let weekly: Vec<NaiveDateTime> = (0..60).map(|w| (start + TimeDelta::weeks(w)).and_hms_opt(18, 30, 0).unwrap()).collect();
        check(&ny, weekly, new_york);
        let mut utc_times = BTreeSet::new();
        for (local, at) in &by_series[&ny] {
            // Planned as requested: the slot is the occurrence, 18:30 in New York.
            assert_eq!(*at, once(new_york, *local));
            assert_eq!(new_york.local(*at).time(), local.time());
            utc_times.insert(at.format("%H:%M").to_string());
        }
        assert_eq!(utc_times.into_iter().collect::<Vec<_>>(), ["22:30", "23:30"], "winter and summer");

        let sydney_zone = Zone::parse("Australia/Sydney").unwrap();
        let last_fridays: Vec<NaiveDateTime> = std::iter::once(start)
            .chain(start.iter_days().skip(1).take(400).filter(|d| d.weekday() == Weekday::Fri && last_of_month(*d)))
            .map(|d| d.and_hms_opt(19, 0, 0).unwrap())
            .collect();
        check(&sydney, last_fridays, sydney_zone);
        let sydney_offsets: BTreeSet<i64> = by_series[&sydney].iter()
            .map(|(local, at)| (*local - at.naive_utc()).num_hours()).collect();
        assert_eq!(sydney_offsets.into_iter().collect::<Vec<_>>(), [10, 11], "standard and daylight time");

        let utc = Zone::parse("UTC").unwrap();
        check(&counted, (0..5).map(|d| (start + TimeDelta::days(d)).and_hms_opt(19, 0, 0).unwrap()).collect(), utc);
        let mwf: Vec<NaiveDateTime> = std::iter::once(start)
            .chain(start.iter_days().skip(1).take_while(|d| *d <= until)
                .filter(|d| matches!(d.weekday(), Weekday::Mon | Weekday::Wed | Weekday::Fri)))
            .map(|d| d.and_hms_opt(21, 0, 0).unwrap())
            .collect();
        check(&ended, mwf, utc);
        for id in &daily {
            let time = by_series[id][0].0.time();
            check(id, (0..400).map(|d| (start + TimeDelta::days(d)).and_time(time)).collect(), utc);
        }

        // Every log has its created event, nothing else happened to any; ticking again makes
        // nothing new.
        let audit = Audit::read(&mut db.conn());
        audit.assert_consistent();
        assert_eq!(audit.logs.len(), total);
        let again = tick_once(&db.url, &["--rules", year_ahead.path()]);
        assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
        let line = &json_lines(&again)[0];
        assert!(line["occurrences_made"].as_u64().unwrap() <= 24, "at most one more per series as the clock moved: {line}");
    }
}
