//! Scheduling, batches, reading logs, cancelling and rescheduling.

use diesel::prelude::*;
use scheduler_core::RuleSet;
use scheduler_store::{
    cancel, get_log, list_clip_schedule, list_events, reschedule, schedule, schedule_batch,
    EventFilter, EventType, NewSchedule, RefusalKind, Reschedule, ScheduledBy, Status, StoreError,
};
use serde_json::json;

use crate::support::{account_and_clip, at, both_backends, counts, now, request};

fn events_of(conn: &mut scheduler_store::Conn, log_id: &str) -> Vec<scheduler_store::LedgerEvent> {
    let filter = EventFilter {
        entity_id: Some(log_id.into()),
        ..EventFilter::default()
    };
    let mut events = list_events(conn, &filter).unwrap();
    events.reverse();
    events
}

/// The reason of a rejected request, checking that it wrote nothing.
fn rejection(conn: &mut scheduler_store::Conn, rules: &RuleSet, req: &NewSchedule) -> String {
    let before = counts(conn);
    let result = schedule(conn, rules, req, now());
    assert_eq!(counts(conn), before, "a rejection wrote rows");
    match result {
        Err(StoreError::Rejected(refusal)) => refusal.reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// A schedule held in another's transaction with the lock while a second one (in a transaction
/// of its caller's, or none) starts and waits: the second plans around the first's post.
fn waiter_sees_the_post_committed_meanwhile(db: &scheduler_testkit::TestDb, in_transaction: bool) {
    let (account, clip) = account_and_clip(&mut db.conn(), "UTC");
    let url = db.database_url();
    let req = request(&account, &clip, Some("2030-01-15T19:00:00Z"));
    let (locked, go) = std::sync::mpsc::channel();
    let holder = {
        let (url, req) = (url.clone(), req.clone());
        std::thread::spawn(move || {
            let mut conn = scheduler_store::connect(&url, false).unwrap();
            scheduler_store::write_transaction(&mut conn, |conn| {
                let done = schedule(conn, &RuleSet::default(), &req, now())?;
                locked.send(()).unwrap();
                // The other schedule starts and waits for the lock meanwhile.
                std::thread::sleep(std::time::Duration::from_millis(700));
                Ok::<_, scheduler_store::StoreError>(done.log.scheduled_for)
            })
            .unwrap()
        })
    };
    go.recv().unwrap();
    let mut conn = scheduler_store::connect(&url, false).unwrap();
    let started = std::time::Instant::now();
    let waiter = if in_transaction {
        scheduler_store::write_transaction(&mut conn, |conn| {
            schedule(conn, &RuleSet::default(), &req, now())
        })
    } else {
        schedule(&mut conn, &RuleSet::default(), &req, now())
    }
    .unwrap();
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(300),
        "it did not wait"
    );
    assert_eq!(holder.join().unwrap(), Some(at("2030-01-15T19:00:00Z")));
    assert_eq!(waiter.log.scheduled_for, Some(at("2030-01-15T20:00:00Z")));
}

both_backends! {
    fn schedules_as_requested(db) {
        let conn = &mut db.conn();
        let (account, clip) = account_and_clip(conn, "UTC");
        let mut req = request(&account, &clip, Some("2030-01-15T19:00:00Z"));
        req.scheduled_by = ScheduledBy::RuleEngine;
        let done = schedule(conn, &RuleSet::default(), &req, now()).unwrap();
        assert_eq!(done.reason, "Scheduled as requested");
        let log = &done.log;
        assert!(log.id.starts_with("log_"), "{}", log.id);
        assert_eq!(log.status, Status::Scheduled);
        assert_eq!(log.schedule_type, "scheduled");
        assert_eq!(log.scheduled_by, ScheduledBy::RuleEngine);
        assert_eq!(log.scheduled_for, Some(at("2030-01-15T19:00:00Z")));
        assert_eq!(log.requested_for, Some(at("2030-01-15T19:00:00Z")));
        assert_eq!(log.scheduled_window_end, Some(at("2030-01-15T23:00:00Z")));
        assert_eq!(log.reason.as_deref(), Some("Scheduled as requested"));
        assert_eq!(log.created_at, now());
        assert_eq!(&get_log(conn, &log.id).unwrap(), log);

        let events = events_of(conn, &log.id);
        assert_eq!(events.len(), 1, "{events:?}");
        let created = &events[0];
        assert!(created.id.starts_with("evt_"));
        assert_eq!(created.event_type, EventType::Created.as_str());
        assert_eq!(created.entity_type, "publish_log");
        assert_eq!(
            created.metadata,
            json!({
                "clip_id": clip.id,
                "platform": "instagram",
                "social_account_id": account.id,
                "scheduled_for": "2030-01-15T19:00:00Z",
                "requested_for": "2030-01-15T19:00:00Z",
                "scheduled_window_end": "2030-01-15T23:00:00Z",
                "scheduled_by": "rule_engine",
                "status": "scheduled",
            })
        );
    }

    fn moves_into_the_window_with_an_adjusted_event(db) {
        let conn = &mut db.conn();
        let (account, clip) = account_and_clip(conn, "UTC");
        let req = request(&account, &clip, Some("2030-01-15T10:00:00.4Z"));
        let done = schedule(conn, &RuleSet::default(), &req, now()).unwrap();
        assert_eq!(done.reason, "Moved to window start 18:00 UTC");
        assert_eq!(done.log.scheduled_for, Some(at("2030-01-15T18:00:00Z")));
        assert_eq!(done.log.requested_for, Some(at("2030-01-15T10:00:01Z")));
        let events = events_of(conn, &done.log.id);
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].event_type, EventType::Adjusted.as_str());
        assert_eq!(
            events[1].metadata,
            json!({
                "clip_id": clip.id,
                "platform": "instagram",
                "original_time": "2030-01-15T10:00:01Z",
                "adjusted_time": "2030-01-15T18:00:00Z",
                "reason": "Moved to window start 18:00 UTC",
            })
        );
    }

    fn windows_are_in_the_accounts_zone(db) {
        let conn = &mut db.conn();
        let (account, clip) = account_and_clip(conn, "America/New_York");
        let req = request(&account, &clip, Some("2030-01-15T12:00:00Z"));
        let done = schedule(conn, &RuleSet::default(), &req, now()).unwrap();
        assert_eq!(done.reason, "Moved to window start 18:00 America/New_York");
        assert_eq!(done.log.scheduled_for, Some(at("2030-01-15T23:00:00Z")));
        assert_eq!(done.log.scheduled_window_end, Some(at("2030-01-16T04:00:00Z")));
    }

    fn keeps_the_gap_from_active_posts_only(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let (account, clip) = account_and_clip(conn, "UTC");
        let first = schedule(conn, &rules, &request(&account, &clip, Some("2030-01-15T19:00:00Z")), now()).unwrap();
        let req = request(&account, &clip, Some("2030-01-15T19:05:00Z"));
        let second = schedule(conn, &rules, &req, now()).unwrap();
        assert_eq!(second.log.scheduled_for, Some(at("2030-01-15T20:00:00Z")));
        assert_eq!(second.reason, "Adjusted 55min forward to respect 60min gap");

        // A cancelled post no longer counts; a pending one does.
        cancel(conn, &first.log.id, now()).unwrap();
        diesel::update(scheduler_store::schema::publish_logs::table.find(&second.log.id))
            .set(scheduler_store::schema::publish_logs::status.eq("pending"))
            .execute(conn)
            .unwrap();
        let third = schedule(conn, &rules, &request(&account, &clip, Some("2030-01-15T19:00:00Z")), now()).unwrap();
        assert_eq!(third.log.scheduled_for, Some(at("2030-01-15T19:00:00Z")));
        let fourth = schedule(conn, &rules, &request(&account, &clip, Some("2030-01-15T20:30:00Z")), now()).unwrap();
        assert_eq!(fourth.log.scheduled_for, Some(at("2030-01-15T21:00:00Z")));
    }

    fn a_log_without_scheduled_for_counts_at_its_creation(db) {
        let conn = &mut db.conn();
        let (account, clip) = account_and_clip(conn, "UTC");
        {
            use scheduler_store::schema::publish_logs::dsl as p;
            let created = at("2030-01-15T19:00:00Z").naive_utc();
            diesel::insert_into(p::publish_logs)
                .values((
                    p::id.eq("log_now"),
                    p::clip_id.eq(&clip.id),
                    p::platform.eq("instagram"),
                    p::social_account_id.eq(&account.id),
                    p::status.eq("published"),
                    p::schedule_type.eq("immediate"),
                    p::scheduled_by.eq("manual"),
                    p::created_at.eq(created),
                    p::updated_at.eq(created),
                ))
                .execute(conn)
                .unwrap();
        }
        let req = request(&account, &clip, Some("2030-01-15T19:10:00Z"));
        let done = schedule(conn, &RuleSet::default(), &req, now()).unwrap();
        assert_eq!(done.log.scheduled_for, Some(at("2030-01-15T20:00:00Z")));
        // The immediate log is not in the clip's schedule.
        let listed = list_clip_schedule(conn, &clip.id).unwrap();
        assert_eq!(listed.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(), [done.log.id.as_str()]);
    }

    fn without_a_time_plans_from_now(db) {
        let conn = &mut db.conn();
        let (account, clip) = account_and_clip(conn, "UTC");
        let done = schedule(conn, &RuleSet::default(), &request(&account, &clip, None), now()).unwrap();
        assert_eq!(done.log.scheduled_for, Some(at("2030-01-14T18:00:00Z")));
        assert_eq!(done.log.requested_for, Some(now()));
    }

    fn finds_a_slot_past_many_posts(db) {
        // 40 TikTok posts fill 2.5 days of 16:00–24:00 windows at a 30-minute gap: more than the
        // first range of posts read, so the store must widen it.
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let account = scheduler_store::create_account(
            conn,
            &rules,
            &scheduler_store::NewAccount { platform: "tiktok".into(), ..Default::default() },
            now(),
        )
        .unwrap();
        let clip = scheduler_store::create_clip(conn, &Default::default(), now()).unwrap();
        let req = request(&account, &clip, Some("2030-01-15T16:00:00Z"));
        let batch = schedule_batch(conn, &rules, &vec![req.clone(); 40], now()).unwrap();
        let last = batch.last().unwrap().as_ref().unwrap();
        assert_eq!(last.log.scheduled_for, Some(at("2030-01-17T19:30:00Z")));
        let next = schedule(conn, &rules, &req, now()).unwrap();
        assert_eq!(next.log.scheduled_for, Some(at("2030-01-17T20:00:00Z")));
    }

    fn the_calendar_is_read_to_the_end_of_the_supported_years(db) {
        // The last week of year 9999 holds 35 Instagram slots (18:00 to 22:00, hourly). The
        // store widens the range of posts it reads as the calendar fills; a range reaching past
        // 9999-12-31 once read nothing on SQLite, and the 17th post was "as requested" on top
        // of the first.
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let (account, clip) = account_and_clip(conn, "UTC");
        let req = request(&account, &clip, Some("9999-12-25T18:00:00Z"));
        let batch = schedule_batch(conn, &rules, &vec![req.clone(); 40], now()).unwrap();
        let slots: Vec<String> = batch[..35]
            .iter()
            .map(|item| scheduler_core::rfc3339(item.as_ref().unwrap().log.scheduled_for.unwrap()))
            .collect();
        let expected: Vec<String> = (25..=31)
            .flat_map(|day| (18..=22).map(move |hour| format!("9999-12-{day}T{hour}:00:00Z")))
            .collect();
        assert_eq!(slots, expected);
        let beyond = "No available slot before 9999-12-31T23:59:59Z, the end of the supported years";
        for item in &batch[35..] {
            let refusal = item.as_ref().unwrap_err();
            assert_eq!((refusal.kind, refusal.reason.as_str()), (RefusalKind::NoSlot, beyond));
        }
        assert_eq!(rejection(conn, &rules, &req), beyond);
    }

    fn every_rejection_writes_nothing(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let (account, clip) = account_and_clip(conn, "UTC");
        let good = request(&account, &clip, Some("2030-01-15T19:00:00Z"));
        schedule(conn, &rules, &good, now()).unwrap();

        let mut req = good.clone();
        req.clip_id = "clip_missing".into();
        assert_eq!(rejection(conn, &rules, &req), "Clip not found: clip_missing");

        let mut req = good.clone();
        req.social_account_id = "acc_missing".into();
        assert_eq!(rejection(conn, &rules, &req), "Social account not found: acc_missing");

        let mut req = good.clone();
        req.platform = "tiktok".into();
        assert_eq!(
            rejection(conn, &rules, &req),
            format!("Platform mismatch: account {} is on instagram, not tiktok", account.id)
        );

        let mut req = good.clone();
        req.scheduled_for = Some(at("2030-01-14T09:58:59Z"));
        assert_eq!(rejection(conn, &rules, &req), "scheduled_for is in the past: 2030-01-14T09:58:59Z");

        // Near chrono's limit: refused before any arithmetic, not overflowed.
        let mut req = good.clone();
        req.scheduled_for = Some(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        assert!(rejection(conn, &rules, &req).starts_with("scheduled_for is out of range: "));

        let mut req = good.clone();
        req.scheduled_window_end = Some(at("2030-01-15T19:30:00Z"));
        assert_eq!(
            rejection(conn, &rules, &req),
            "No available slot before scheduled_window_end 2030-01-15T19:30:00Z"
        );

        let short = RuleSet::from_toml("max_horizon_days = 1\n[platforms.instagram]\nmin_gap_minutes = 1500\n").unwrap();
        let mut req = good.clone();
        req.scheduled_for = Some(at("2030-01-15T19:30:00Z"));
        assert_eq!(rejection(conn, &short, &req), "No available slot within 1 days");

        // An account on a platform the current rules no longer know (the rules file changed).
        let threads = RuleSet::from_toml(
            "[platforms.threads]\nstart_hour = 9\nend_hour = 17\nmin_gap_minutes = 15\n",
        )
        .unwrap();
        let other = scheduler_store::create_account(
            conn,
            &threads,
            &scheduler_store::NewAccount { platform: "threads".into(), ..Default::default() },
            now(),
        )
        .unwrap();
        assert_eq!(
            rejection(conn, &rules, &request(&other, &clip, Some("2030-01-15T10:00:00Z"))),
            "Unknown platform: threads"
        );
    }

    fn batch_items_see_each_other_and_fail_alone(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let (account, clip) = account_and_clip(conn, "UTC");
        let req = request(&account, &clip, Some("2030-01-15T19:00:00Z"));
        let mut bad = req.clone();
        bad.clip_id = "clip_missing".into();
        let results = schedule_batch(conn, &rules, &[req.clone(), bad, req.clone()], now()).unwrap();
        assert_eq!(results.len(), 3);
        let first = results[0].as_ref().unwrap();
        assert_eq!(first.log.scheduled_for, Some(at("2030-01-15T19:00:00Z")));
        let refusal = results[1].as_ref().unwrap_err();
        assert_eq!((refusal.kind, refusal.reason.as_str()), (RefusalKind::ClipNotFound, "Clip not found: clip_missing"));
        let third = results[2].as_ref().unwrap();
        assert_eq!(third.log.scheduled_for, Some(at("2030-01-15T20:00:00Z")));
        assert_eq!(third.reason, "Adjusted 60min forward to respect 60min gap");
        // Two logs; created + created + adjusted events.
        assert_eq!(counts(conn), (2, 3));
        assert!(schedule_batch(conn, &rules, &[], now()).unwrap().is_empty());
    }

    fn lists_a_clips_schedule_by_time(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let (account, clip) = account_and_clip(conn, "UTC");
        let later = schedule(conn, &rules, &request(&account, &clip, Some("2030-01-16T19:00:00Z")), now()).unwrap();
        let earlier = schedule(conn, &rules, &request(&account, &clip, Some("2030-01-15T19:00:00Z")), now()).unwrap();
        cancel(conn, &later.log.id, now()).unwrap();
        let listed = list_clip_schedule(conn, &clip.id).unwrap();
        assert_eq!(
            listed.iter().map(|l| (l.id.as_str(), l.status.as_str())).collect::<Vec<_>>(),
            [(earlier.log.id.as_str(), "scheduled"), (later.log.id.as_str(), "cancelled")]
        );
        let (_, empty_clip) = account_and_clip(conn, "UTC");
        assert!(list_clip_schedule(conn, &empty_clip.id).unwrap().is_empty());
        assert!(matches!(
            list_clip_schedule(conn, "clip_missing"),
            Err(StoreError::NotFound { kind: "clip", .. })
        ));
        assert!(matches!(
            get_log(conn, "log_missing"),
            Err(StoreError::NotFound { kind: "publish log", .. })
        ));
    }

    fn cancels_only_scheduled_logs(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let (account, clip) = account_and_clip(conn, "UTC");
        let done = schedule(conn, &rules, &request(&account, &clip, Some("2030-01-15T19:00:00Z")), now()).unwrap();
        let later = at("2030-01-14T11:00:00Z");
        let cancelled = cancel(conn, &done.log.id, later).unwrap();
        assert_eq!(cancelled.status, Status::Cancelled);
        assert_eq!(cancelled.updated_at, later);
        let events = events_of(conn, &done.log.id);
        assert_eq!(events.last().unwrap().event_type, EventType::Cancelled.as_str());
        assert_eq!(
            events.last().unwrap().metadata,
            json!({
                "clip_id": clip.id,
                "platform": "instagram",
                "social_account_id": account.id,
                "scheduled_for": "2030-01-15T19:00:00Z",
            })
        );
        let before = counts(conn);
        assert!(matches!(cancel(conn, &done.log.id, later), Err(StoreError::InvalidState(_))));
        assert!(matches!(cancel(conn, "log_missing", later), Err(StoreError::NotFound { .. })));
        assert_eq!(counts(conn), before);
        // The freed slot is free again.
        let again = schedule(conn, &rules, &request(&account, &clip, Some("2030-01-15T19:00:00Z")), now()).unwrap();
        assert_eq!(again.reason, "Scheduled as requested");
    }

    fn reschedules_under_the_rules(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let (account, clip) = account_and_clip(conn, "UTC");
        let other = schedule(conn, &rules, &request(&account, &clip, Some("2030-01-16T19:00:00Z")), now()).unwrap();
        let done = schedule(conn, &rules, &request(&account, &clip, Some("2030-01-15T19:00:00Z")), now()).unwrap();

        // Its own time is not a conflict.
        let change = Reschedule { scheduled_for: Some(at("2030-01-15T19:30:00Z")), scheduled_window_end: None };
        let same = reschedule(conn, &rules, &done.log.id, &change, now()).unwrap();
        assert_eq!(same.reason, "Scheduled as requested");
        assert_eq!(same.log.scheduled_for, Some(at("2030-01-15T19:30:00Z")));

        // Another post's time is.
        let change = Reschedule { scheduled_for: Some(at("2030-01-16T19:10:00Z")), scheduled_window_end: None };
        let moved = reschedule(conn, &rules, &done.log.id, &change, now()).unwrap();
        assert_eq!(moved.log.scheduled_for, Some(at("2030-01-16T20:00:00Z")));
        assert_eq!(moved.reason, "Adjusted 50min forward to respect 60min gap");
        assert_eq!(moved.log.reason.as_deref(), Some(moved.reason.as_str()));
        let events = events_of(conn, &done.log.id);
        assert_eq!(
            events.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>(),
            [EventType::Created.as_str(), EventType::Rescheduled.as_str(), EventType::Rescheduled.as_str()]
        );
        assert_eq!(
            events[2].metadata,
            json!({
                "clip_id": clip.id,
                "platform": "instagram",
                "social_account_id": account.id,
                "old_scheduled_for": "2030-01-15T19:30:00Z",
                "new_scheduled_for": "2030-01-16T20:00:00Z",
                "reason": "Adjusted 50min forward to respect 60min gap",
            })
        );

        // A rejection changes nothing.
        let before = (counts(conn), get_log(conn, &done.log.id).unwrap());
        let past = Reschedule { scheduled_for: Some(at("2030-01-13T19:00:00Z")), scheduled_window_end: None };
        match reschedule(conn, &rules, &done.log.id, &past, now()) {
            Err(StoreError::Rejected(refusal)) => assert_eq!(refusal.reason, "scheduled_for is in the past: 2030-01-13T19:00:00Z"),
            other => panic!("expected a rejection, got {other:?}"),
        }
        assert_eq!((counts(conn), get_log(conn, &done.log.id).unwrap()), before);

        cancel(conn, &other.log.id, now()).unwrap();
        assert!(matches!(
            reschedule(conn, &rules, &other.log.id, &Reschedule::default(), now()),
            Err(StoreError::InvalidState(_))
        ));
        assert!(matches!(
            reschedule(conn, &rules, "log_missing", &Reschedule::default(), now()),
            Err(StoreError::NotFound { .. })
        ));
    }
}

both_backends! {
    fn schedule_returns_the_log_as_stored(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let (account, clip) = account_and_clip(conn, "America/New_York");
        let requests = [
            request(&account, &clip, Some("2030-01-15T23:00:00Z")),
            // Adjusted by the gap, with a window end and another priority.
            scheduler_store::NewSchedule {
                scheduled_window_end: Some(at("2030-01-16T03:00:00Z")),
                priority: scheduler_core::Priority::Low,
                scheduled_by: scheduler_store::ScheduledBy::RuleEngine,
                ..request(&account, &clip, Some("2030-01-15T23:30:00Z"))
            },
            request(&account, &clip, None),
        ];
        for new in &requests {
            let done = schedule(conn, &rules, new, now()).unwrap();
            assert_eq!(done.log, scheduler_store::get_log(conn, &done.log.id).unwrap());
        }
        let batch = scheduler_store::schedule_batch(conn, &rules, &requests, now()).unwrap();
        for item in batch {
            let done = item.unwrap();
            assert_eq!(done.log, scheduler_store::get_log(conn, &done.log.id).unwrap());
        }
    }
}

both_backends! {
    fn a_platform_named_in_another_case_plans_among_the_same_posts(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let (account, clip) = account_and_clip(conn, "UTC");
        let first = schedule(conn, &rules, &request(&account, &clip, Some("2030-01-15T19:00:00Z")), now()).unwrap();
        let shouted = scheduler_store::NewSchedule { platform: "INSTAGRAM".into(), ..request(&account, &clip, Some("2030-01-15T19:00:00Z")) };
        let second = schedule(conn, &rules, &shouted, now()).unwrap();
        assert_eq!(first.log.scheduled_for, Some(at("2030-01-15T19:00:00Z")));
        assert_eq!(second.log.scheduled_for, Some(at("2030-01-15T20:00:00Z")));
        assert_eq!(second.log.platform.as_str(), "instagram");
        assert_eq!(second.log, scheduler_store::get_log(conn, &second.log.id).unwrap());
    }

    fn a_schedule_waiting_for_the_lock_sees_the_post_committed_meanwhile(db) {
        // Guarantee 1, step by step: a schedule that waits for another's lock plans among the
        // post the other committed while it waited.
        waiter_sees_the_post_committed_meanwhile(db, false);
    }

    fn a_schedule_in_the_callers_transaction_waiting_for_the_lock_sees_the_post_committed_meanwhile(db) {
        // The same, with the waiting schedule inside its caller's transaction (as with an
        // `Idempotency-Key`): the lock it waited for is then held until its caller commits.
        waiter_sees_the_post_committed_meanwhile(db, true);
    }

    fn a_schedule_outside_a_transaction_commits_whole_on_its_own(db) {
        // The caller needs no transaction (on PostgreSQL the common schedule opens none): the
        // moment `schedule` answers, another connection sees the log and both its events.
        let (account, clip) = account_and_clip(&mut db.conn(), "UTC");
        let (mut conn, mut other) = (db.conn(), db.conn());
        let rules = RuleSet::default();
        let first = request(&account, &clip, Some("2030-01-15T19:00:00Z"));
        schedule(&mut conn, &rules, &first, now()).unwrap();
        let before = counts(&mut other);
        let done = schedule(&mut conn, &rules, &first, now()).unwrap();
        assert!(done.is_adjusted());
        assert_eq!(counts(&mut other), (before.0 + 1, before.1 + 2));
        assert_eq!(get_log(&mut other, &done.log.id).unwrap(), done.log);
        let types: Vec<_> = events_of(&mut other, &done.log.id).into_iter().map(|e| e.event_type).collect();
        assert_eq!(types, ["publish_scheduled_created", "publish_scheduled_adjusted"]);
    }
}
