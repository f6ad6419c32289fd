//! The publishing handoff: claims with leases, reports fenced by their token, failure kinds,
//! expired leases, and a person's confirm and retry.

use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use std::thread;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use scheduler_core::RuleSet;
use scheduler_store::schema::publish_logs::dsl as p;
use scheduler_store::{
    claim, complete, confirm, connect, fail, get_log, heartbeat, list_events, retry, schedule,
    tick, Account, Claim, ClaimRequest, Clip, Completion, Conn, EventFilter, EventType, Failure,
    FailureKind, Status, StoreError,
};
use scheduler_testkit::{insert_logs, Logs};

use crate::support::{account_and_clip, at, both_backends, request};

/// Schedules a post at `time` (planned from long before) and makes it `pending`, as the tick
/// would; its id.
fn pending_at(conn: &mut Conn, account: &Account, clip: &Clip, time: &str) -> String {
    let done = schedule(
        conn,
        &RuleSet::default(),
        &request(account, clip, Some(time)),
        at("2020-01-01T00:00:00Z"),
    )
    .unwrap();
    set_status(conn, &done.log.id, Status::Pending);
    done.log.id
}

/// Sets a log's status behind the store's back (time passing, a tick on another clock).
fn set_status(conn: &mut Conn, id: &str, status: Status) {
    diesel::update(p::publish_logs.find(id))
        .set(p::status.eq(status.as_str()))
        .execute(conn)
        .unwrap();
}

fn worker(limit: u32) -> ClaimRequest {
    ClaimRequest {
        worker_id: "worker-1".into(),
        limit,
        lease_seconds: 300,
        platforms: Vec::new(),
    }
}

/// The event types written about `log_id`, oldest first.
fn history(conn: &mut Conn, log_id: &str) -> Vec<String> {
    let filter = EventFilter {
        entity_id: Some(log_id.into()),
        ..EventFilter::default()
    };
    let mut events: Vec<String> = list_events(conn, &filter)
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    events.reverse();
    events
}

fn failure(kind: FailureKind, error: &str) -> Failure {
    Failure {
        kind,
        error: error.into(),
        retry_after: None,
        jitter: 0.0,
    }
}

/// "Now" for the tests that plan retries: the host clock scheduling reads. Leases run on the
/// database's clock on PostgreSQL, so it must not be long before the real time there.
fn host_now() -> DateTime<Utc> {
    Utc::now()
}

both_backends! {
    fn claims_take_the_oldest_pending_logs_once_each_with_their_own_lease(db) {
        let conn = &mut db.conn();
        let (account, clip) = account_and_clip(conn, "UTC");
        let a = pending_at(conn, &account, &clip, "2030-01-15T20:00:00Z");
        let b = pending_at(conn, &account, &clip, "2030-01-15T19:00:00Z");
        let c = pending_at(conn, &account, &clip, "2030-01-15T21:00:00Z");
        let scheduled = schedule(conn, &RuleSet::default(), &request(&account, &clip, Some("2030-01-16T20:00:00Z")),
                                 at("2020-01-01T00:00:00Z")).unwrap().log.id;

        let first = claim(conn, &worker(2), host_now()).unwrap();
        let ids: Vec<&str> = first.iter().map(|c| c.log.id.as_str()).collect();
        assert_eq!(ids, [b.as_str(), a.as_str()]);
        assert_ne!(first[0].lease_token, first[1].lease_token);
        for claim in &first {
            assert_eq!(claim.log.status, Status::Processing);
            assert_eq!((claim.attempt, claim.log.attempt), (1, 1));
            assert_eq!(claim.log.leased_by.as_deref(), Some("worker-1"));
            assert_eq!((&claim.clip.id, &claim.account.id), (&clip.id, &account.id));
            assert_eq!(claim.log.lease_expires_at, Some(claim.lease_expires_at));
            let lease = claim.lease_expires_at - Utc::now();
            assert!(lease > TimeDelta::seconds(290) && lease <= TimeDelta::seconds(300), "{lease}");
            assert_eq!(history(conn, &claim.log.id).last().unwrap(), EventType::Claimed.as_str());
        }
        let second = claim(conn, &worker(5), host_now()).unwrap();
        assert_eq!(second.iter().map(|c| c.log.id.as_str()).collect::<Vec<_>>(), [c.as_str()]);
        assert!(claim(conn, &worker(5), host_now()).unwrap().is_empty());
        assert_eq!(get_log(conn, &scheduled).unwrap().status, Status::Scheduled);

        // A platform filter.
        let tiktok = ClaimRequest { platforms: vec![scheduler_core::Platform::tiktok()], ..worker(5) };
        let d = pending_at(conn, &account, &clip, "2030-01-17T20:00:00Z");
        assert!(claim(conn, &tiktok, host_now()).unwrap().is_empty());
        assert_eq!(get_log(conn, &d).unwrap().status, Status::Pending);
    }

    fn reports_need_the_lease_that_holds_the_log(db) {
        let conn = &mut db.conn();
        let (account, clip) = account_and_clip(conn, "UTC");
        let id = pending_at(conn, &account, &clip, "2030-01-15T20:00:00Z");
        let Claim { lease_token, lease_expires_at, .. } = claim(conn, &worker(1), host_now()).unwrap().remove(0);

        let lost = |r: Result<_, StoreError>| assert!(matches!(r, Err(StoreError::LeaseLost(_))), "{r:?}");
        lost(heartbeat(conn, &id, "not-the-token", 600, host_now()).map(|_| ()));
        lost(complete(conn, &id, "not-the-token", &Completion::default(), host_now()).map(|_| ()));
        let extended = heartbeat(conn, &id, &lease_token, 600, host_now()).unwrap();
        assert!(extended > lease_expires_at, "{extended} after {lease_expires_at}");
        assert_eq!(get_log(conn, &id).unwrap().lease_expires_at, Some(extended));

        let done = Completion {
            platform_post_id: Some("ig_123".into()),
            permalink: Some("https://instagram.example/p/123".into()),
            engagement: Some(r#"{"views": 10}"#.into()),
        };
        let log = complete(conn, &id, &lease_token, &done, host_now()).unwrap();
        assert_eq!(log.status, Status::Published);
        assert_eq!(log.platform_post_id.as_deref(), Some("ig_123"));
        assert_eq!(log.lease_expires_at, None);
        // The same token again: the lease ended with the completion.
        lost(complete(conn, &id, &lease_token, &done, host_now()).map(|_| ()));
        lost(fail(conn, &RuleSet::default(), &id, &lease_token, &failure(FailureKind::Permanent, "x"), host_now()).map(|_| ()));
        assert_eq!(get_log(conn, &id).unwrap().status, Status::Published);
        assert!(matches!(heartbeat(conn, "log_nope", &lease_token, 60, host_now()), Err(StoreError::NotFound { .. })));
        assert_eq!(history(conn, &id), ["publish_scheduled_created", "publish_claimed", "publish_published"]);
        let published = list_events(conn, &EventFilter { entity_id: Some(id.clone()), ..EventFilter::default() }).unwrap();
        assert_eq!(published[0].metadata["platform_post_id"], "ig_123");
        assert_eq!(published[0].metadata["attempt"], 1);
    }

    fn each_failure_kind_goes_where_the_contract_says(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let (account, clip) = account_and_clip(conn, "UTC");
        let now = host_now();
        let claimed = |conn: &mut Conn, time: &str| {
            let id = pending_at(conn, &account, &clip, time);
            let claim = claim(conn, &worker(1), now).unwrap().remove(0);
            assert_eq!(claim.log.id, id);
            (id, claim.lease_token)
        };

        // retryable: planned again after the backoff, in the window, its attempt kept.
        let (id, token) = claimed(conn, "2030-01-15T20:00:00Z");
        let after = fail(conn, &rules, &id, &token, &failure(FailureKind::Retryable, "HTTP 503"), now).unwrap();
        assert_eq!(after.log.status, Status::Scheduled);
        assert_eq!(after.log.attempt, 1);
        assert_eq!(after.log.last_error.as_deref(), Some("HTTP 503"));
        assert_eq!(after.log.lease_expires_at, None);
        let next = after.log.scheduled_for.unwrap();
        assert!(next >= now + TimeDelta::seconds(54), "{next}");
        assert!(after.reason.is_some());
        let events = list_events(conn, &EventFilter { entity_id: Some(id.clone()), ..EventFilter::default() }).unwrap();
        assert_eq!(events[0].event_type, "publish_attempt_failed");
        assert_eq!(events[0].metadata["kind"], "retryable");
        assert_eq!(events[0].metadata["next_scheduled_for"], scheduler_core::rfc3339(next));

        // rate_limited: from retry_after, and the attempt does not count.
        let (id, token) = claimed(conn, "2030-01-16T20:00:00Z");
        let limited = Failure { retry_after: Some(TimeDelta::hours(30)), ..failure(FailureKind::RateLimited, "429") };
        let after = fail(conn, &rules, &id, &token, &limited, now).unwrap();
        assert_eq!((after.log.status, after.log.attempt), (Status::Scheduled, 0));
        assert!(after.log.scheduled_for.unwrap() >= now + TimeDelta::hours(30));

        // permanent: failed for good.
        let (id, token) = claimed(conn, "2030-01-17T20:00:00Z");
        let after = fail(conn, &rules, &id, &token, &failure(FailureKind::Permanent, "video too long"), now).unwrap();
        assert_eq!(after.log.status, Status::Failed);
        assert_eq!(&history(conn, &id)[2..], ["publish_attempt_failed", "publish_failed"]);

        // unknown: a person must say.
        let (id, token) = claimed(conn, "2030-01-18T20:00:00Z");
        let after = fail(conn, &rules, &id, &token, &failure(FailureKind::Unknown, "timed out after sending"), now).unwrap();
        assert_eq!(after.log.status, Status::Unconfirmed);
        assert_eq!(history(conn, &id).last().unwrap(), "publish_attempt_failed");

        // An error text is kept cut to 2,000 characters.
        let (id, token) = claimed(conn, "2030-01-19T20:00:00Z");
        let long = "é".repeat(5_000);
        let after = fail(conn, &rules, &id, &token, &failure(FailureKind::Permanent, &long), now).unwrap();
        assert_eq!(after.log.last_error.unwrap().chars().count(), 2_000);
    }

    fn a_retryable_failure_on_the_last_attempt_fails_for_good(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::from_toml("[platforms.instagram]\nmax_attempts = 2").unwrap();
        let (account, clip) = account_and_clip(conn, "UTC");
        let id = pending_at(conn, &account, &clip, "2030-01-15T20:00:00Z");
        for attempt in 1..=2 {
            let claim = claim(conn, &worker(1), host_now()).unwrap().remove(0);
            assert_eq!(claim.attempt, attempt);
            let after = fail(conn, &rules, &id, &claim.lease_token, &failure(FailureKind::Retryable, "HTTP 500"), host_now()).unwrap();
            let expected = if attempt == 1 { Status::Scheduled } else { Status::Failed };
            assert_eq!(after.log.status, expected);
            set_status(conn, &id, Status::Pending);
        }
        set_status(conn, &id, Status::Failed);
        assert_eq!(history(conn, &id).last().unwrap(), "publish_failed");

        // A person retries it: planned again, its attempts started over.
        let retried = retry(conn, &rules, &id, Some(at("2030-02-01T10:00:00Z")), host_now()).unwrap();
        assert_eq!(retried.log.status, Status::Scheduled);
        assert_eq!(retried.log.scheduled_for, Some(at("2030-02-01T18:00:00Z")));
        assert_eq!(retried.log.attempt, 0);
        assert_eq!(retried.reason, "Moved to window start 18:00 UTC");
        assert_eq!(history(conn, &id).last().unwrap(), "publish_retried");
        assert!(matches!(retry(conn, &rules, &id, None, host_now()), Err(StoreError::InvalidState(_))));
    }

    fn the_tick_makes_expired_leases_unconfirmed_and_a_person_settles_them(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let (account, clip) = account_and_clip(conn, "UTC");
        let ids = [
            pending_at(conn, &account, &clip, "2030-01-15T20:00:00Z"),
            pending_at(conn, &account, &clip, "2030-01-16T20:00:00Z"),
            pending_at(conn, &account, &clip, "2030-01-17T20:00:00Z"),
        ];
        let claims = claim(conn, &worker(3), host_now()).unwrap();
        // Two leases end (the worker died); the third is still held.
        for id in &ids[..2] {
            diesel::update(p::publish_logs.find(id))
                .set(p::lease_expires_at.eq(at("2020-01-01T00:00:00Z").naive_utc()))
                .execute(conn)
                .unwrap();
        }
        let dry = tick(conn, &RuleSet::default(), 1, true, host_now()).unwrap();
        assert_eq!((dry.leases_expired, dry.moved), (2, 0));
        assert_eq!(get_log(conn, &ids[0]).unwrap().status, Status::Processing);
        let outcome = tick(conn, &RuleSet::default(), 1, false, host_now()).unwrap();
        assert_eq!(outcome.expired_log_ids.iter().collect::<HashSet<_>>(), ids[..2].iter().collect());
        for id in &ids[..2] {
            let log = get_log(conn, id).unwrap();
            assert_eq!(log.status, Status::Unconfirmed);
            assert!(log.last_error.unwrap().contains("lease expired"));
            let events = list_events(conn, &EventFilter { entity_id: Some(id.clone()), ..EventFilter::default() }).unwrap();
            assert_eq!(events[0].event_type, "publish_lease_expired");
            assert_eq!((&events[0].metadata["worker_id"], &events[0].metadata["attempt"]), (&"worker-1".into(), &1.into()));
        }
        assert_eq!(get_log(conn, &ids[2]).unwrap().status, Status::Processing);
        // The dead worker's late report changes nothing.
        let late = complete(conn, &ids[0], &claims[0].lease_token, &Completion::default(), host_now());
        assert!(matches!(late, Err(StoreError::LeaseLost(_))), "{late:?}");

        // A person says: the first was published, the second was not (planned again from now).
        let yes = confirm(conn, &rules, &ids[0], true, Some("ig_9"), host_now()).unwrap();
        assert_eq!((yes.log.status, yes.log.platform_post_id.as_deref()), (Status::Published, Some("ig_9")));
        let no = confirm(conn, &rules, &ids[1], false, None, host_now()).unwrap();
        assert_eq!((no.log.status, no.log.attempt), (Status::Scheduled, 0));
        assert!(no.log.scheduled_for.unwrap() >= host_now() - TimeDelta::seconds(1));
        assert!(no.reason.is_some());
        for id in &ids[..2] {
            assert_eq!(history(conn, id).last().unwrap(), "publish_confirmed");
        }
        let again = confirm(conn, &rules, &ids[0], true, None, host_now());
        assert!(matches!(again, Err(StoreError::InvalidState(_))), "{again:?}");
        let held = confirm(conn, &rules, &ids[2], true, None, host_now());
        assert!(matches!(held, Err(StoreError::InvalidState(_))), "{held:?}");
    }

    fn concurrent_claims_take_each_log_once(db) {
        let (account, clip) = {
            let conn = &mut db.conn();
            let (account, clip) = account_and_clip(conn, "UTC");
            (account.id, clip.id)
        };
        let ids = insert_logs(&mut db.conn(), &Logs {
            account: &account, clip: &clip, count: 300, first_due: at("2020-01-01T00:00:00Z"),
            step: TimeDelta::seconds(1), created_at: at("2019-12-01T00:00:00Z"),
            with_events: false, random_ids: false,
        });
        tick(&mut db.conn(), &RuleSet::default(), 500, false, at("2021-01-01T00:00:00Z")).unwrap();
        let url = db.database_url();
        let barrier = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4).map(|i| {
            let (url, barrier) = (url.clone(), barrier.clone());
            thread::spawn(move || {
                let mut conn = connect(&url, false).unwrap();
                barrier.wait();
                let mut mine = Vec::new();
                loop {
                    let request = ClaimRequest { worker_id: format!("w{i}"), ..worker(7) };
                    let claims = claim(&mut conn, &request, Utc::now()).unwrap();
                    if claims.is_empty() {
                        break mine;
                    }
                    mine.extend(claims.into_iter().map(|c| c.log.id));
                }
            })
        }).collect();
        let claimed: Vec<String> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
        assert_eq!(claimed.len(), 300);
        assert_eq!(claimed.iter().collect::<HashSet<_>>(), ids.iter().collect());
        let conn = &mut db.conn();
        let filter = EventFilter { event_type: Some(EventType::Claimed.as_str().into()), limit: 1000, ..EventFilter::default() };
        assert_eq!(list_events(conn, &filter).unwrap().len(), 300);
    }
}

both_backends! {
    fn a_report_after_the_lease_ended_is_refused_before_any_tick(db) {
        let conn = &mut db.conn();
        let (account, clip) = account_and_clip(conn, "UTC");
        let id = pending_at(conn, &account, &clip, "2030-01-15T20:00:00Z");
        let claim = claim(conn, &worker(1), host_now()).unwrap().remove(0);
        diesel::update(p::publish_logs.find(&id))
            .set(p::lease_expires_at.eq((Utc::now() - TimeDelta::seconds(2)).naive_utc()))
            .execute(conn)
            .unwrap();
        let late = complete(conn, &id, &claim.lease_token, &Completion::default(), host_now());
        assert!(matches!(late, Err(StoreError::LeaseLost(_))), "{late:?}");
        let beat = heartbeat(conn, &id, &claim.lease_token, 60, host_now());
        assert!(matches!(beat, Err(StoreError::LeaseLost(_))), "{beat:?}");
        assert_eq!(get_log(conn, &id).unwrap().status, Status::Processing);
        assert_eq!(history(conn, &id).last().unwrap(), "publish_claimed");
    }

    fn a_rate_limit_without_a_wait_backs_off_and_gives_the_attempt_back(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::from_toml("[platforms.instagram]\nstart_hour = 0\nend_hour = 24").unwrap();
        let (account, clip) = account_and_clip(conn, "UTC");
        let id = pending_at(conn, &account, &clip, "2030-01-15T20:00:00Z");
        let claim = claim(conn, &worker(1), host_now()).unwrap().remove(0);
        let now = host_now();
        let after = fail(conn, &rules, &id, &claim.lease_token, &failure(FailureKind::RateLimited, "429"), now).unwrap();
        assert_eq!((after.log.status, after.log.attempt), (Status::Scheduled, 0));
        let wait = after.log.scheduled_for.unwrap() - now;
        assert!(wait >= TimeDelta::seconds(53) && wait <= TimeDelta::seconds(67), "{wait}");
        // The event names the attempt that was made.
        let events = list_events(conn, &EventFilter { entity_id: Some(id.clone()), ..EventFilter::default() }).unwrap();
        assert_eq!((&events[0].metadata["kind"], &events[0].metadata["attempt"]), (&"rate_limited".into(), &1.into()));
    }

    fn a_retry_with_no_slot_left_fails_and_says_why(db) {
        let conn = &mut db.conn();
        let (account, clip) = account_and_clip(conn, "UTC");
        let id = pending_at(conn, &account, &clip, "2030-01-15T20:00:00Z");
        // Another post an hour from now; under rules with a week's gap and a day's horizon
        // no slot is left for the retry.
        let soon = (Utc::now() + TimeDelta::hours(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let open_day = RuleSet::from_toml("[platforms.instagram]\nstart_hour = 0\nend_hour = 24\nmin_gap_minutes = 0").unwrap();
        schedule(conn, &open_day, &request(&account, &clip, Some(&soon)), Utc::now()).unwrap();
        let tight = RuleSet::from_toml(
            "max_horizon_days = 1\n[platforms.instagram]\nstart_hour = 0\nend_hour = 24\nmin_gap_minutes = 10080",
        ).unwrap();
        let claim = claim(conn, &worker(1), host_now()).unwrap().remove(0);
        let after = fail(conn, &tight, &id, &claim.lease_token, &failure(FailureKind::Retryable, "HTTP 503"), host_now()).unwrap();
        assert_eq!(after.log.status, Status::Failed);
        let error = after.log.last_error.unwrap();
        assert!(error.starts_with("HTTP 503 (no retry: No available slot within 1 days"), "{error}");
        assert_eq!(&history(conn, &id)[2..], ["publish_attempt_failed", "publish_failed"]);
    }
}
