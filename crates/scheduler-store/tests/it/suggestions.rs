//! The best time to post (contract section 13): the engagement history kept as posts are
//! published and measured, filled again by its migration, and the suggestions and
//! `strategy: "best"` it leads to.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use scheduler_core::{Basis, HourOfWeek, RuleSet, Tally, Zone};
use scheduler_store::engagement::engagement_tallies;
use scheduler_store::schema::publish_logs::dsl as p;
use scheduler_store::{
    claim, complete, create_account, get_log, list_events, record_engagement, run_migrations,
    schedule, suggestions, Account, ClaimRequest, Clip, Completion, Conn, Engagement, EventFilter,
    NewAccount, RefusalKind, Status, StoreError, Strategy,
};

use crate::support::{account_and_clip, at, both_backends, request};

/// A post published at `time` on `account`, its views reported by its worker.
fn published(conn: &mut Conn, account: &Account, clip: &Clip, time: &str, views: u64) -> String {
    let id = schedule(
        conn,
        &RuleSet::default(),
        &request(account, clip, Some(time)),
        at("2020-01-01T00:00:00Z"),
    )
    .unwrap()
    .log
    .id;
    diesel::update(p::publish_logs.find(&id))
        .set(p::status.eq(Status::Pending.as_str()))
        .execute(conn)
        .unwrap();
    let worker = ClaimRequest {
        worker_id: "worker-1".into(),
        limit: 1,
        lease_seconds: 300,
        platforms: Vec::new(),
    };
    let held = claim(conn, &worker, Utc::now()).unwrap().remove(0);
    assert_eq!(held.log.id, id);
    let figures = Engagement {
        views: Some(views),
        likes: None,
        comments: None,
        shares: None,
        measured_at: at(time) + TimeDelta::days(1),
    };
    let done = Completion {
        engagement: Some(figures.to_json()),
        ..Completion::default()
    };
    complete(conn, &id, &held.lease_token, &done, Utc::now()).unwrap();
    id
}

/// The Thursdays of May 2030.
const THURSDAYS: [&str; 4] = ["2030-05-02", "2030-05-09", "2030-05-16", "2030-05-23"];

/// `local` on `zone`'s clock, as an instant.
fn wall(zone: &str, local: &str) -> String {
    let zone: Zone = zone.parse().unwrap();
    let local: NaiveDateTime = local.parse().unwrap();
    match zone.wall_time(local) {
        scheduler_core::WallTime::Once(t) => scheduler_core::rfc3339(t),
        other => panic!("{local} is not on {zone:?}'s clock once: {other:?}"),
    }
}

/// The account's posts on Thursdays at 19:00 (1,000 views) and 22:00 (10,000) on its clock:
/// the ids of the 22:00 ones.
fn thursday_history(conn: &mut Conn, account: &Account, clip: &Clip) -> Vec<String> {
    let zone = account.timezone.name();
    let mut late = Vec::new();
    for day in THURSDAYS {
        published(
            conn,
            account,
            clip,
            &wall(zone, &format!("{day}T19:00:00")),
            1_000,
        );
        late.push(published(
            conn,
            account,
            clip,
            &wall(zone, &format!("{day}T22:00:00")),
            10_000,
        ));
    }
    late
}

/// The same history counted by hand, by hour of the week on `zone`'s clock.
fn expected(zone: &str, posts: &[(&str, u64)]) -> Tally {
    let zone: Zone = zone.parse().unwrap();
    let mut tally = Tally::default();
    for (time, views) in posts {
        tally.add(zone.local(at(time)), *views);
    }
    tally
}

fn assert_same(actual: &Tally, expected: &Tally) {
    for h in (0..168).map(|h| HourOfWeek::from_index(h).unwrap()) {
        let ((n, sum), (m, want)) = (actual.counted(h), expected.counted(h));
        assert_eq!(n, m, "posts in hour {h:?}");
        assert!((sum - want).abs() < 1e-9, "hour {h:?}: {sum} != {want}");
    }
}

fn since() -> chrono::NaiveDate {
    at("2030-03-01T00:00:00Z").date_naive()
}

/// Monday 2030-06-03 00:00 in New York, for a week.
fn week() -> (DateTime<Utc>, DateTime<Utc>) {
    let from = at("2030-06-03T04:00:00Z");
    (from, from + TimeDelta::days(7))
}

fn june() -> DateTime<Utc> {
    at("2030-06-01T00:00:00Z")
}

both_backends! {
    fn the_hour_with_ten_times_the_views_is_suggested_first_and_best_takes_it(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let (account, clip) = account_and_clip(conn, "America/New_York");
        thursday_history(conn, &account, &clip);

        let found = suggestions(conn, &rules, &account.id, Some("Instagram"), week(), 3, june()).unwrap();
        let slots: Vec<String> = found.slots.iter().map(|s| scheduler_core::rfc3339(s.at)).collect();
        // Thursday 22:00 and 22:30 in New York (EDT), then the window's best other hour.
        assert_eq!(slots[..2], ["2030-06-07T02:00:00Z", "2030-06-07T02:30:00Z"], "{found:?}");
        assert_eq!(found.slots[0].score, 1.0);
        assert!(found.slots.iter().all(|s| s.basis == Basis::History));
        assert_eq!(found.account.id, account.id);

        // strategy: "best" takes it, from the span's start.
        let best = scheduler_store::NewSchedule {
            scheduled_for: Some(week().0),
            strategy: Strategy::Best { within_days: 7 },
            ..request(&account, &clip, None)
        };
        let done = schedule(conn, &rules, &best, june()).unwrap();
        assert_eq!(scheduler_core::rfc3339(done.log.scheduled_for.unwrap()), "2030-06-07T02:00:00Z");
        assert_eq!(done.reason, "Best slot by engagement history (score 1.00)");
        assert_eq!(done.log.requested_for, Some(week().0));
        let events: Vec<String> = list_events(conn, &EventFilter { entity_id: Some(done.log.id.clone()), ..EventFilter::default() })
            .unwrap().into_iter().map(|e| e.event_type).collect();
        assert!(events.contains(&"publish_scheduled_adjusted".to_owned()), "{events:?}");

        // Taken: neither it nor a slot within the gap of it is offered again.
        let again = suggestions(conn, &rules, &account.id, None, week(), 50, june()).unwrap();
        let taken = at("2030-06-07T02:00:00Z");
        assert!(again.slots.iter().all(|s| (s.at - taken).abs() >= TimeDelta::minutes(60)), "{again:?}");
        // A second best request takes the next best free slot.
        let next = schedule(conn, &rules, &best, june()).unwrap();
        assert_eq!(next.log.scheduled_for, Some(again.slots[0].at));
    }

    fn without_history_the_windows_middle_is_best(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let (account, clip) = account_and_clip(conn, "Europe/Berlin");
        let found = suggestions(conn, &rules, &account.id, None, week(), 2, june()).unwrap();
        // Instagram's window is 18:00–23:00: 20:00 and 20:30 Berlin (CEST) on the first day.
        let slots: Vec<String> = found.slots.iter().map(|s| scheduler_core::rfc3339(s.at)).collect();
        assert_eq!(slots, ["2030-06-03T18:00:00Z", "2030-06-03T18:30:00Z"]);
        assert!(found.slots.iter().all(|s| s.basis == Basis::Default && s.score == 1.0));
        let best = scheduler_store::NewSchedule { strategy: Strategy::Best { within_days: 1 }, ..request(&account, &clip, Some("2030-06-03T04:00:00Z")) };
        let done = schedule(conn, &rules, &best, june()).unwrap();
        assert_eq!(done.reason, "Best slot by platform default");
        assert_eq!(scheduler_core::rfc3339(done.log.scheduled_for.unwrap()), "2030-06-03T18:00:00Z");
    }

    fn the_history_counts_each_post_once_at_its_latest_views_and_its_migration_fills_it(db) {
        let conn = &mut db.conn();
        let (account, clip) = account_and_clip(conn, "America/New_York");
        let late = thursday_history(conn, &account, &clip);
        let berlin = create_account(conn, &RuleSet::default(), &NewAccount { platform: "instagram".into(), timezone: Some("Europe/Berlin".into()), ..NewAccount::default() }, at("2030-01-01T00:00:00Z")).unwrap();
        let other = wall("Europe/Berlin", "2030-05-02T22:00:00");
        published(conn, &berlin, &clip, &other, 500);
        // An old post, before the 90 days: in the table, not in the tally.
        published(conn, &account, &clip, "2029-12-01T23:00:00Z", 7);
        // A Thursday 22:00 in New York's winter time (-05:00) counts in the same hour of the
        // week as the summer ones (-04:00).
        let winter = wall("America/New_York", "2030-03-07T22:00:00");
        assert_eq!(winter, "2030-03-08T03:00:00Z");
        published(conn, &account, &clip, &winter, 10_000);

        let mut posts: Vec<(String, u64)> = Vec::new();
        for day in THURSDAYS {
            posts.push((wall("America/New_York", &format!("{day}T19:00:00")), 1_000));
            posts.push((wall("America/New_York", &format!("{day}T22:00:00")), 10_000));
        }
        posts.push((winter.clone(), 10_000));
        // A later snapshot replaces the views; an earlier one changes nothing; one without views
        // takes the post out until its views are known again.
        let measured = |views: Option<u64>, day: &str| Engagement { views, likes: Some(3), comments: None, shares: None, measured_at: at(day) };
        record_engagement(conn, &late[0], &measured(Some(20_000), "2030-05-20T00:00:00Z")).unwrap();
        record_engagement(conn, &late[0], &measured(Some(1), "2030-05-10T00:00:00Z")).unwrap();
        record_engagement(conn, &late[1], &measured(None, "2030-05-20T00:00:00Z")).unwrap();
        posts[1].1 = 20_000;
        posts.remove(3);
        let own: Vec<(&str, u64)> = posts.iter().map(|(t, v)| (t.as_str(), *v)).collect();
        // Berlin's 22:00 counts in the same local hour as New York's.
        let berlin_post = expected("Europe/Berlin", &[(other.as_str(), 500)]);
        let (account_tally, platform_tally) = engagement_tallies(conn, &account, since()).unwrap();
        assert_same(&account_tally, &expected("America/New_York", &own));
        let thursday_22 = HourOfWeek::from_index(3 * 24 + 22).unwrap();
        // Four summer Thursdays and the winter one, less the one whose views became unknown.
        assert_eq!(account_tally.counted(thursday_22).0, 4);
        let mut both = expected("America/New_York", &own);
        let (n, sum) = berlin_post.counted(thursday_22);
        assert_eq!(n, 1);
        both.add_counted(thursday_22, n, sum);
        assert_same(&platform_tally, &both);
        assert_eq!(get_log(conn, &late[1]).unwrap().status, Status::Published);

        // A database from before the history: the migration counts what was published.
        diesel::sql_query("DROP TABLE account_engagement_hours").execute(conn).unwrap();
        diesel::sql_query("DROP TABLE platform_engagement_hours").execute(conn).unwrap();
        diesel::sql_query("ALTER TABLE publish_logs DROP COLUMN counted_views").execute(conn).unwrap();
        diesel::sql_query("DELETE FROM __diesel_schema_migrations WHERE version = '20261206000008'").execute(conn).unwrap();
        assert_eq!(run_migrations(conn).unwrap(), ["20261206000008"]);
        let (rebuilt_own, rebuilt_all) = engagement_tallies(conn, &account, since()).unwrap();
        assert_same(&rebuilt_own, &account_tally);
        assert_same(&rebuilt_all, &platform_tally);
    }

    fn suggestions_refuse_what_cannot_be_answered(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let (account, clip) = account_and_clip(conn, "UTC");
        let refused = |r: Result<scheduler_store::Suggested, StoreError>, kind: RefusalKind| match r {
            Err(StoreError::Rejected(refusal)) => assert_eq!(refusal.kind, kind, "{refusal:?}"),
            other => panic!("expected {kind:?}, got {other:?}"),
        };
        assert!(matches!(suggestions(conn, &rules, "acc_nope", None, week(), 5, june()), Err(StoreError::NotFound { .. })));
        refused(suggestions(conn, &rules, &account.id, Some("tiktok"), week(), 5, june()), RefusalKind::PlatformMismatch);
        let past = (at("2030-05-01T00:00:00Z"), at("2030-05-08T00:00:00Z"));
        refused(suggestions(conn, &rules, &account.id, None, past, 5, june()), RefusalKind::PastTime);
        // A span that began counts from now.
        let began = suggestions(conn, &rules, &account.id, None, (at("2030-05-31T00:00:00Z"), at("2030-06-02T00:00:00Z")), 50, june()).unwrap();
        assert!(began.slots.iter().all(|s| s.at >= june()));
        // June 1st's window, 18:00–23:00 UTC.
        assert_eq!(began.slots.len(), 10, "{began:?}");

        // strategy: "best" with no free slot in its span, and from the past.
        let in_window_end = scheduler_store::NewSchedule {
            scheduled_window_end: Some(at("2030-06-03T17:00:00Z")),
            strategy: Strategy::Best { within_days: 7 },
            ..request(&account, &clip, Some("2030-06-03T04:00:00Z"))
        };
        match schedule(conn, &rules, &in_window_end, june()) {
            Err(StoreError::Rejected(r)) => {
                assert_eq!(r.kind, RefusalKind::NoSlot);
                assert_eq!(r.reason, "No available slot before scheduled_window_end 2030-06-03T17:00:00Z");
            }
            other => panic!("{other:?}"),
        }
        let past_best = scheduler_store::NewSchedule { strategy: Strategy::Best { within_days: 7 }, ..request(&account, &clip, Some("2030-05-01T00:00:00Z")) };
        assert!(matches!(schedule(conn, &rules, &past_best, june()), Err(StoreError::Rejected(r)) if r.kind == RefusalKind::PastTime));
        let (logs, _) = crate::support::counts(conn);
        assert_eq!(logs, 0);
    }
}

both_backends! {
    fn the_last_90_days_are_whole_days_and_concurrent_reports_count_once(db) {
        let (account, clip) = account_and_clip(&mut db.conn(), "UTC");
        let conn = &mut db.conn();
        // 90 days before 2030-06-01T10:00Z is 2030-03-03T10:00Z: its day counts whole.
        let now = at("2030-06-01T10:00:00Z");
        let since = scheduler_store::history_since(now);
        assert_eq!(since.to_string(), "2030-03-03");
        published(conn, &account, &clip, "2030-03-02T22:00:00Z", 100);
        let counted = published(conn, &account, &clip, "2030-03-03T18:00:00Z", 100);
        let (own, _) = engagement_tallies(conn, &account, since).unwrap();
        assert_eq!(own.posts(), 1);

        // Eight reports of the counted post at once, each from its own connection: it counts
        // once, with the views measured last.
        let url = db.database_url();
        let id = counted.clone();
        let threads: Vec<_> = (0..8u64)
            .map(|i| {
                let (url, id) = (url.clone(), id.clone());
                std::thread::spawn(move || {
                    let mut conn = scheduler_store::connect(&url, false).unwrap();
                    let figures = Engagement { views: if i % 3 == 0 { None } else { Some(1_000 * i) }, likes: None, comments: None, shares: None, measured_at: at("2030-03-05T00:00:00Z") + TimeDelta::hours(i as i64) };
                    record_engagement(&mut conn, &id, &figures).unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let (own, all) = engagement_tallies(conn, &account, since).unwrap();
        // The last measured (i = 7) has 7,000 views.
        let h = HourOfWeek::of(at("2030-03-03T18:00:00Z").naive_utc());
        let want = scheduler_core::log_views(7_000);
        for tally in [&own, &all] {
            let (n, sum) = tally.counted(h);
            assert_eq!(n, 1);
            assert!((sum - want).abs() < 1e-9, "{sum} != {want}");
            assert_eq!(tally.posts(), 1);
        }
        assert_eq!(get_log(conn, &counted).unwrap().engagement.as_deref().and_then(Engagement::from_json).unwrap().views, Some(7_000));
    }
}
