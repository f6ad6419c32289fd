//! Recurring series: occurrences made into logs at their local times across daylight-saving
//! changes, exactly once with ticks at once, changed and cancelled as the contract says.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use scheduler_core::{local_text, parse_local, rfc3339, RuleSet};
use scheduler_store::models::LedgerEvent;
use scheduler_store::{
    cancel, cancel_series, create_account, create_series, get_series, list_series, preview_series,
    schedule, tick, update_series, Account, Clip, Conn, NewAccount, NewSeries, PublishLog,
    RefusalKind, ScheduledBy, SeriesChange, SeriesFilter, SeriesStatus, Status, StoreError,
};

use crate::support::{account_and_clip, at, both_backends, request};

/// The rules with a series horizon of `days`.
fn horizon(days: u16) -> RuleSet {
    RuleSet::from_toml(&format!("series_horizon_days = {days}")).unwrap()
}

fn new_series(account: &Account, clip: &Clip, dtstart: &str, rule: &str) -> NewSeries {
    NewSeries {
        clip_id: clip.id.clone(),
        social_account_id: account.id.clone(),
        platform: account.platform.to_string(),
        dtstart: parse_local(dtstart).unwrap(),
        rule: rule.parse().unwrap(),
        exdates: Vec::new(),
        scheduled_by: ScheduledBy::Manual,
        priority: scheduler_core::Priority::Normal,
    }
}

/// The series' logs, by occurrence (those that gave theirs up last).
fn series_logs(conn: &mut Conn, series_id: &str) -> Vec<PublishLog> {
    use scheduler_store::schema::publish_logs::dsl as p;
    let mut logs: Vec<PublishLog> = p::publish_logs
        .filter(p::series_id.eq(series_id))
        .select(PublishLog::as_select())
        .load(conn)
        .unwrap();
    logs.sort_by(|a, b| {
        (a.occurrence.is_none(), &a.occurrence, &a.id).cmp(&(
            b.occurrence.is_none(),
            &b.occurrence,
            &b.id,
        ))
    });
    logs
}

/// (occurrence, scheduled_for) of the series' logs with `status`.
fn slots(conn: &mut Conn, series_id: &str, status: Status) -> Vec<(String, String)> {
    series_logs(conn, series_id)
        .into_iter()
        .filter(|l| l.status == status)
        .map(|l| {
            (
                l.occurrence.unwrap_or_default(),
                rfc3339(l.scheduled_for.unwrap()),
            )
        })
        .collect()
}

fn events_of(conn: &mut Conn, event_type: &str) -> Vec<LedgerEvent> {
    use scheduler_store::schema::ledger_events::dsl as e;
    e::ledger_events
        .filter(e::event_type.eq(event_type))
        .order(e::seq.asc())
        .select(LedgerEvent::as_select())
        .load(conn)
        .unwrap()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

both_backends! {
    fn a_weekly_series_in_new_york_keeps_18_30_local_across_both_changes(db) {
        let conn = &mut db.conn();
        let rules = horizon(365);
        let (account, clip) = account_and_clip(conn, "America/New_York");
        let now = at("2026-12-06T12:00:00Z");
        let view = create_series(conn, &rules, &new_series(&account, &clip, "2027-03-01T18:30:00", "FREQ=WEEKLY;BYDAY=MO;COUNT=40"), now).unwrap();
        let id = view.series.id.clone();
        let made = slots(conn, &id, Status::Scheduled);
        assert_eq!(made.len(), 40);
        // Every occurrence at 18:30 in New York: 23:30Z in winter, 22:30Z in summer.
        for (occurrence, at) in &made {
            assert!(occurrence.ends_with("T18:30:00"), "{occurrence}");
            let local = parse_local(occurrence).unwrap();
            let expected = account.timezone.wall_time(local);
            assert!(matches!(expected, scheduler_core::WallTime::Once(t) if rfc3339(t) == *at), "{occurrence} {at}");
        }
        let around_changes: Vec<_> = made.iter().filter(|(o, _)| {
            ["2027-03-08", "2027-03-15", "2027-11-01", "2027-11-08"].iter().any(|d| o.starts_with(d))
        }).cloned().collect();
        assert_eq!(around_changes, pairs(&[
            ("2027-03-08T18:30:00", "2027-03-08T23:30:00Z"),
            ("2027-03-15T18:30:00", "2027-03-15T22:30:00Z"),
            ("2027-11-01T18:30:00", "2027-11-01T22:30:00Z"),
            ("2027-11-08T18:30:00", "2027-11-08T23:30:00Z"),
        ]));
        // One series event, one creation event per occurrence carrying the series and its
        // occurrence; nothing moved them.
        assert_eq!(events_of(conn, "series_created").len(), 1);
        let created = events_of(conn, "publish_scheduled_created");
        assert_eq!(created.len(), 40);
        assert_eq!(created[0].metadata["series_id"], id.as_str());
        assert_eq!(created[0].metadata["occurrence"], "2027-03-01T18:30:00");
        assert!(events_of(conn, "publish_scheduled_adjusted").is_empty());
        // COUNT is used up: nothing is left to make, and nothing is shown as next.
        assert_eq!(view.series.next_occurrence_at, None);
        assert_eq!(view.next_occurrences.len(), 10);
        assert_eq!(get_series(conn, &rules, &id, at("2027-12-01T00:00:00Z")).unwrap().next_occurrences.len(), 0);
    }

    fn a_monthly_last_friday_in_sydney_keeps_its_local_time_across_april(db) {
        let conn = &mut db.conn();
        let rules = horizon(365);
        let (account, clip) = account_and_clip(conn, "Australia/Sydney");
        let view = create_series(conn, &rules, &new_series(&account, &clip, "2027-01-29T19:00:00", "RRULE:FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20270601"), at("2026-12-06T12:00:00Z")).unwrap();
        assert_eq!(view.series.rule.to_string(), "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20270601");
        assert_eq!(slots(conn, &view.series.id, Status::Scheduled), pairs(&[
            ("2027-01-29T19:00:00", "2027-01-29T08:00:00Z"),
            ("2027-02-26T19:00:00", "2027-02-26T08:00:00Z"),
            ("2027-03-26T19:00:00", "2027-03-26T08:00:00Z"),
            // Daylight saving ended on 4 April: +10:00.
            ("2027-04-30T19:00:00", "2027-04-30T09:00:00Z"),
            ("2027-05-28T19:00:00", "2027-05-28T09:00:00Z"),
        ]));
    }

    fn occurrences_are_planned_like_requests_among_the_accounts_other_posts(db) {
        let conn = &mut db.conn();
        let rules = horizon(14);
        let (account, clip) = account_and_clip(conn, "UTC");
        let now = at("2030-01-14T10:00:00Z");
        // A one-off post at 19:00 on the 16th: that day's occurrence keeps the gap from it.
        schedule(conn, &rules, &request(&account, &clip, Some("2030-01-16T19:00:00Z")), now).unwrap();
        let view = create_series(conn, &rules, &new_series(&account, &clip, "2030-01-15T19:00:00", "FREQ=DAILY;COUNT=3"), now).unwrap();
        let next: Vec<_> = view.next_occurrences.iter()
            .map(|o| (local_text(o.occurrence), o.scheduled_for.map(rfc3339).unwrap(), o.reason.clone(), o.log.as_ref().map(|l| l.1)))
            .collect();
        assert_eq!(next, vec![
            ("2030-01-15T19:00:00".into(), "2030-01-15T19:00:00Z".into(), "Scheduled as requested".into(), Some(Status::Scheduled)),
            ("2030-01-16T19:00:00".into(), "2030-01-16T20:00:00Z".into(), "Adjusted 60min forward to respect 60min gap".into(), Some(Status::Scheduled)),
            ("2030-01-17T19:00:00".into(), "2030-01-17T19:00:00Z".into(), "Scheduled as requested".into(), Some(Status::Scheduled)),
        ]);
        assert_eq!(events_of(conn, "publish_scheduled_adjusted").len(), 1);
        // The series' logs count for later requests like any post.
        let later = schedule(conn, &rules, &request(&account, &clip, Some("2030-01-17T19:30:00Z")), now).unwrap();
        assert_eq!(rfc3339(later.log.scheduled_for.unwrap()), "2030-01-17T20:00:00Z");
    }

    fn a_rule_denser_than_the_window_never_piles_up(db) {
        let conn = &mut db.conn();
        let rules = horizon(3);
        let (account, clip) = account_and_clip(conn, "UTC");
        let now = at("2030-01-14T10:00:00Z");
        // Ten times a day into Instagram's five hours (18:00-23:00, 60 min apart).
        let view = create_series(conn, &rules, &new_series(&account, &clip, "2030-01-14T18:00:00", "FREQ=DAILY;BYHOUR=18,19,20,21,22;BYMINUTE=0,30"), now).unwrap();
        let logs = series_logs(conn, &view.series.id);
        // Each occurrence lands no later than the next one (22:30's on the next day's 18:00),
        // so the posts made never reach past the horizon's last occurrence.
        let slots: Vec<DateTime<Utc>> = logs.iter().map(|l| l.scheduled_for.unwrap()).collect();
        assert!(slots.len() <= 16, "{} logs", slots.len());
        assert!(slots.iter().all(|s| *s <= at("2030-01-17T18:00:00Z")), "{slots:?}");
        let recurrence = view.series.recurrence(account.timezone);
        for log in &logs {
            let occurrence = parse_local(log.occurrence.as_deref().unwrap()).unwrap().and_utc();
            let next = recurrence.after(occurrence + TimeDelta::seconds(1)).next().unwrap();
            assert!(log.scheduled_for.unwrap() <= next.at, "{log:?}");
        }
        // The surplus is shown with its reason, and a post a few days on is not pushed.
        let skipped = view.next_occurrences.iter().find(|o| o.log.is_none()).unwrap();
        assert_eq!(skipped.scheduled_for, None);
        assert!(skipped.reason.starts_with("No available slot before the series' next occurrence at"), "{}", skipped.reason);
        let later = schedule(conn, &rules, &request(&account, &clip, Some("2030-01-20T18:00:00Z")), now).unwrap();
        assert_eq!(later.reason, "Scheduled as requested");
    }

    fn occurrences_beyond_the_horizon_are_shown_planned_and_made_by_a_later_tick(db) {
        let conn = &mut db.conn();
        let rules = horizon(3);
        let (account, clip) = account_and_clip(conn, "UTC");
        // Made ten days ago (by the clock the tick reads: the database's on PostgreSQL), a
        // daily series at 19:00 made the occurrences of its first three days.
        let real_now = Utc::now();
        let created_at = real_now - TimeDelta::days(10);
        let dtstart = (created_at + TimeDelta::days(1)).date_naive().and_hms_opt(19, 0, 0).unwrap();
        let day = |d: i64| dtstart + TimeDelta::days(d);
        let mut new = new_series(&account, &clip, &local_text(dtstart), "FREQ=DAILY");
        new.exdates = vec![day(10)];
        let view = create_series(conn, &rules, &new, created_at).unwrap();
        let id = view.series.id.clone();
        let first = series_logs(conn, &id).len();
        assert!(first >= 1);
        // The next ten: the made ones first, then planned ones without a log.
        assert_eq!(view.next_occurrences.len(), 10);
        assert!(view.next_occurrences[..first].iter().all(|o| o.log.is_some()));
        assert!(view.next_occurrences[first..].iter().all(|o| o.log.is_none() && o.scheduled_for == Some(o.occurrence_at)));
        // Ticks at once make each occurrence up to the new horizon once.
        let url = db.database_url();
        let made: Vec<usize> = std::thread::scope(|s| {
            let ticks: Vec<_> = (0..4).map(|_| {
                let (url, rules) = (url.clone(), rules.clone());
                s.spawn(move || {
                    let mut conn = scheduler_store::connect(&url, false).unwrap();
                    tick(&mut conn, &rules, 1, false, Utc::now()).unwrap().occurrences_made
                })
            }).collect();
            ticks.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let ticked_by = Utc::now();
        let logs = series_logs(conn, &id);
        let occurrences: HashSet<String> = logs.iter().map(|l| l.occurrence.clone().unwrap()).collect();
        assert_eq!(occurrences.len(), logs.len());
        assert_eq!(made.iter().sum::<usize>(), logs.len() - first, "{made:?}");
        let minute = TimeDelta::minutes(1);
        for d in 0..20 {
            let at = day(d).and_utc();
            let is_made = occurrences.contains(&local_text(day(d)));
            let from_tick = at >= real_now + minute && at < real_now + TimeDelta::days(3) - minute;
            if (d as usize) < first || (from_tick && d != 10) {
                assert!(is_made, "day {d}");
            }
            // Past ones are never made late, an excluded one never, and none past the horizon.
            let past = (d as usize) >= first && at < real_now - minute;
            if past || d == 10 || at > ticked_by + TimeDelta::days(3) + minute {
                assert!(!is_made, "day {d}");
            }
        }
        // A tick with nothing new to make makes nothing.
        assert_eq!(tick(conn, &rules, 500, false, Utc::now()).unwrap().occurrences_made, 0);
    }

    fn a_rule_change_cancels_what_no_longer_fits_and_a_persons_cancel_stands(db) {
        let conn = &mut db.conn();
        let rules = horizon(14);
        let (account, clip) = account_and_clip(conn, "UTC");
        let now = at("2030-02-27T12:00:00Z");
        let view = create_series(conn, &rules, &new_series(&account, &clip, "2030-03-04T19:00:00", "FREQ=WEEKLY;BYDAY=MO,TH"), now).unwrap();
        let id = view.series.id.clone();
        let logs = series_logs(conn, &id);
        let occurrences: Vec<_> = logs.iter().map(|l| l.occurrence.clone().unwrap()).collect();
        assert_eq!(occurrences, ["2030-03-04T19:00:00", "2030-03-07T19:00:00", "2030-03-11T19:00:00"]);
        // A person cancels Thursday the 7th.
        cancel(conn, &logs[1].id, now).unwrap();
        // Mondays only: nothing else is Thursday within the horizon; Mondays keep their logs.
        let monday = SeriesChange { rule: Some("FREQ=WEEKLY;BYDAY=MO".parse().unwrap()), ..SeriesChange::default() };
        update_series(conn, &rules, &id, &monday, now + TimeDelta::days(2)).unwrap();
        let after = series_logs(conn, &id);
        assert_eq!(after.iter().filter(|l| l.status == Status::Scheduled).map(|l| l.id.clone()).collect::<Vec<_>>(),
                   vec![logs[0].id.clone(), logs[2].id.clone()]);
        // Back to Mondays and Thursdays, a day later: the 14th comes within the horizon and is
        // made; the 7th, which a person cancelled, stays cancelled.
        let both = SeriesChange { rule: Some("FREQ=WEEKLY;BYDAY=MO,TH".parse().unwrap()), ..SeriesChange::default() };
        let view = update_series(conn, &rules, &id, &both, now + TimeDelta::days(3)).unwrap();
        assert_eq!(slots(conn, &id, Status::Scheduled).iter().map(|(o, _)| o.as_str()).collect::<Vec<_>>(),
                   ["2030-03-04T19:00:00", "2030-03-11T19:00:00", "2030-03-14T19:00:00"]);
        assert_eq!(slots(conn, &id, Status::Cancelled).iter().map(|(o, _)| o.as_str()).collect::<Vec<_>>(), ["2030-03-07T19:00:00"]);
        assert_eq!(view.series.rule.to_string(), "FREQ=WEEKLY;BYDAY=MO,TH");
        assert_eq!(events_of(conn, "series_updated").len(), 2);
        // A change that changes nothing writes nothing.
        let before = crate::support::counts(conn);
        update_series(conn, &rules, &id, &SeriesChange::default(), now + TimeDelta::days(3)).unwrap();
        update_series(conn, &rules, &id, &both, now + TimeDelta::days(3)).unwrap();
        assert_eq!(crate::support::counts(conn), before);

        // A Thursday cancelled by the first change gives its occurrence up, and comes back.
        let (account2, clip2) = account_and_clip(conn, "UTC");
        let view = create_series(conn, &rules, &new_series(&account2, &clip2, "2030-03-04T19:00:00", "FREQ=WEEKLY;BYDAY=MO,TH"), now).unwrap();
        let id2 = view.series.id;
        update_series(conn, &rules, &id2, &monday, now).unwrap();
        let released: Vec<_> = series_logs(conn, &id2).into_iter().filter(|l| l.status == Status::Cancelled).collect();
        assert_eq!(released.len(), 1);
        assert_eq!(released[0].occurrence, None);
        assert_eq!(released[0].series_id.as_deref(), Some(id2.as_str()));
        update_series(conn, &rules, &id2, &both, now).unwrap();
        assert_eq!(slots(conn, &id2, Status::Scheduled).iter().map(|(o, _)| o.as_str()).collect::<Vec<_>>(),
                   ["2030-03-04T19:00:00", "2030-03-07T19:00:00", "2030-03-11T19:00:00"]);
    }

    fn cancelling_a_series_cancels_its_scheduled_occurrences_and_makes_no_more(db) {
        let conn = &mut db.conn();
        let rules = horizon(3);
        let (account, clip) = account_and_clip(conn, "UTC");
        let real_now = Utc::now();
        let dtstart = (real_now + TimeDelta::days(1)).date_naive().and_hms_opt(19, 0, 0).unwrap();
        let view = create_series(conn, &rules, &new_series(&account, &clip, &local_text(dtstart), "FREQ=DAILY"), real_now - TimeDelta::days(5)).unwrap();
        let id = view.series.id.clone();
        assert!(series_logs(conn, &id).is_empty());
        // The tick makes the first ones; cancelling takes them all back.
        assert!(tick(conn, &rules, 500, false, Utc::now()).unwrap().occurrences_made >= 2);
        let view = cancel_series(conn, &rules, &id, Utc::now()).unwrap();
        assert_eq!(view.series.status, SeriesStatus::Cancelled);
        assert!(view.next_occurrences.is_empty());
        let logs = series_logs(conn, &id);
        assert!(logs.iter().all(|l| l.status == Status::Cancelled));
        let events = (events_of(conn, "publish_scheduled_cancelled").len(), events_of(conn, "series_cancelled").len());
        assert_eq!(events, (logs.len(), 1));
        // Nothing more is made, and a second cancel changes nothing.
        assert_eq!(tick(conn, &rules, 500, false, Utc::now() + TimeDelta::days(2)).unwrap().occurrences_made, 0);
        cancel_series(conn, &rules, &id, Utc::now()).unwrap();
        assert_eq!(events_of(conn, "series_cancelled").len(), 1);
        assert_eq!(series_logs(conn, &id).len(), logs.len());
        // A cancelled series takes no change.
        let change = SeriesChange { rule: Some("FREQ=WEEKLY".parse().unwrap()), ..SeriesChange::default() };
        assert!(matches!(update_series(conn, &rules, &id, &change, Utc::now()), Err(StoreError::InvalidState(_))));
    }

    fn a_preview_writes_nothing_and_answers_what_creating_makes(db) {
        let conn = &mut db.conn();
        let rules = horizon(14);
        let (account, clip) = account_and_clip(conn, "Europe/Berlin");
        let now = at("2030-01-14T10:00:00Z");
        let new = new_series(&account, &clip, "2030-01-15T21:30:00", "FREQ=DAILY;INTERVAL=2;BYHOUR=19,21;BYMINUTE=30");
        let before = crate::support::counts(conn);
        let preview = preview_series(conn, &rules, &new, now).unwrap();
        assert_eq!(crate::support::counts(conn), before);
        let created = create_series(conn, &rules, &new, now).unwrap();
        let shown = |v: &scheduler_store::SeriesView| v.next_occurrences.iter()
            .map(|o| (o.occurrence, o.scheduled_for, o.reason.clone())).collect::<Vec<(NaiveDateTime, Option<DateTime<Utc>>, String)>>();
        assert_eq!(shown(&preview), shown(&created));
        assert_eq!(preview.series.rule, created.series.rule);
        assert!(preview.next_occurrences.iter().all(|o| o.log.is_none()));
        assert!(created.next_occurrences.iter().all(|o| o.log.is_some()));
        // Every second day from the 15th at 19:30 and 21:30, from dtstart on.
        let first: Vec<_> = created.next_occurrences.iter().take(3).map(|o| local_text(o.occurrence)).collect();
        assert_eq!(first, ["2030-01-15T21:30:00", "2030-01-17T19:30:00", "2030-01-17T21:30:00"]);
        // Listed by account.
        let page = list_series(conn, &rules, &SeriesFilter { social_account_id: Some(account.id.clone()), ..SeriesFilter::default() }, now).unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].series.id, created.series.id);
    }

    fn a_series_is_refused_like_a_request_and_without_a_future_occurrence(db) {
        let conn = &mut db.conn();
        let rules = horizon(14);
        let (account, clip) = account_and_clip(conn, "UTC");
        let now = at("2030-01-14T10:00:00Z");
        let before = crate::support::counts(conn);
        let kind = |r: Result<scheduler_store::SeriesView, StoreError>| match r {
            Err(StoreError::Rejected(refusal)) => refusal.kind,
            other => panic!("{other:?}"),
        };
        let ended = new_series(&account, &clip, "2029-01-01T19:00:00", "FREQ=DAILY;COUNT=3");
        assert_eq!(kind(create_series(conn, &rules, &ended, now)), RefusalKind::PastTime);
        assert_eq!(kind(preview_series(conn, &rules, &ended, now)), RefusalKind::PastTime);
        let mut other_clip = new_series(&account, &clip, "2030-02-01T19:00:00", "FREQ=DAILY");
        other_clip.clip_id = "clip_nope".into();
        assert_eq!(kind(create_series(conn, &rules, &other_clip, now)), RefusalKind::ClipNotFound);
        let tiktok = create_account(conn, &rules, &NewAccount { platform: "tiktok".into(), ..NewAccount::default() }, now).unwrap();
        let mut mismatch = new_series(&tiktok, &clip, "2030-02-01T19:00:00", "FREQ=DAILY");
        mismatch.platform = "instagram".into();
        assert_eq!(kind(create_series(conn, &rules, &mismatch, now)), RefusalKind::PlatformMismatch);
        assert_eq!(crate::support::counts(conn).0, before.0);
        assert!(matches!(get_series(conn, &rules, "ser_nope", now), Err(StoreError::NotFound { .. })));
    }
}
