//! Webhook deliveries: made from the feed for the events each subscription wants, claimed
//! with a lease once each, settled by the retry schedule, listed, retried by hand.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use diesel::prelude::*;
use scheduler_core::RuleSet;
use scheduler_store::schema::ledger_events::dsl as l;
use scheduler_store::schema::webhook_deliveries::dsl as d;
use scheduler_store::webhooks::{
    claim_deliveries, create_subscription, delete_subscription, fan_out, fan_out_waiting,
    get_subscription, list_deliveries, list_subscriptions, report_deliveries, retry_delivery,
    Attempted, DeliveryClaim, DeliveryFilter, DeliveryStatus, NewSubscription, RetrySchedule,
};
use scheduler_store::{cancel, connect, schedule, Conn, EventType, StoreError};

use crate::support::{account_and_clip, at, both_backends, request};

const LEASE: Duration = Duration::from_secs(30);

fn subscribe(conn: &mut Conn, types: Option<Vec<EventType>>) -> String {
    let new = NewSubscription {
        url: "https://receiver.example/hook".into(),
        event_types: types,
        description: Some("test".into()),
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
    };
    create_subscription(conn, &new, Utc::now()).unwrap().id
}

/// Schedules a post far ahead: its created event, and the id.
fn post(conn: &mut Conn) -> String {
    let (account, clip) = account_and_clip(conn, "UTC");
    let time = Some("2030-01-15T20:00:00Z");
    schedule(
        conn,
        &RuleSet::default(),
        &request(&account, &clip, time),
        at("2030-01-14T10:00:00Z"),
    )
    .unwrap()
    .log
    .id
}

/// Fans out until `expected` deliveries are made, or 10 s pass; the number made. On
/// PostgreSQL the feed holds back events while any older transaction runs, in any database of
/// the server (other tests'): they come a moment later.
fn fan_out_until(conn: &mut Conn, expected: usize) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut made = 0;
    loop {
        let done = fan_out(conn, 100, Utc::now()).unwrap();
        made += done.made;
        if made >= expected && !done.more || std::time::Instant::now() > deadline {
            return made;
        }
        if !done.more {
            thread::sleep(Duration::from_millis(10));
        }
    }
}

fn claim(conn: &mut Conn, subscription: &str, limit: u32) -> DeliveryClaim {
    claim_deliveries(conn, subscription, limit, LEASE, Utc::now()).unwrap()
}

fn outcome(claim: &DeliveryClaim, delivered: bool) -> Vec<Attempted> {
    claim
        .deliveries
        .iter()
        .map(|c| Attempted {
            event_seq: c.event.seq,
            attempt: c.attempt,
            delivered,
            status: Some(if delivered { 204 } else { 500 }),
            error: (!delivered).then(|| "HTTP 500".to_owned()),
            response: Some("x".repeat(3000)),
        })
        .collect()
}

/// Makes every delivery of `subscription` due now, as time passing would.
fn make_due(conn: &mut Conn, subscription: &str) {
    diesel::update(d::webhook_deliveries.filter(d::subscription_id.eq(subscription)))
        .set(d::next_attempt_at.eq((Utc::now() - TimeDelta::seconds(1)).naive_utc()))
        .execute(conn)
        .unwrap();
}

fn event_types(conn: &mut Conn, subscription: &str) -> Vec<String> {
    let page = list_deliveries(conn, subscription, &DeliveryFilter::default()).unwrap();
    page.deliveries
        .into_iter()
        .rev()
        .map(|d| d.event_type)
        .collect()
}

both_backends! {
    fn deliveries_are_made_for_the_wanted_events_written_after_the_subscription(db) {
        let conn = &mut db.conn();
        let before = post(conn);
        let all = subscribe(conn, None);
        let cancels = subscribe(conn, Some(vec![EventType::Cancelled]));
        let log = post(conn);
        cancel(conn, &log, Utc::now()).unwrap();
        assert_eq!(fan_out_until(conn, 3), 3);
        assert!(!fan_out_waiting(conn).unwrap());
        assert_eq!(fan_out_until(conn, 0), 0);
        assert_eq!(event_types(conn, &all), ["publish_scheduled_created", "publish_scheduled_cancelled"]);
        assert_eq!(event_types(conn, &cancels), ["publish_scheduled_cancelled"]);
        let page = list_deliveries(conn, &all, &DeliveryFilter::default()).unwrap();
        assert!(page.deliveries.iter().all(|d| d.status == DeliveryStatus::Pending && d.attempts == 0));
        assert!(page.deliveries.iter().all(|d| d.next_attempt_at.is_some()));
        assert!(!page.deliveries.iter().any(|d| d.event_id.contains(&before)));
        let subscriptions = list_subscriptions(conn).unwrap();
        assert_eq!(subscriptions.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [all.as_str(), cancels.as_str()]);
        assert_eq!(subscriptions[1].event_types, Some(vec![EventType::Cancelled]));
    }

    fn a_claim_holds_its_deliveries_and_reports_follow_the_schedule(db) {
        let conn = &mut db.conn();
        let subscription = subscribe(conn, None);
        post(conn);
        post(conn);
        fan_out_until(conn, 2);
        let schedule: RetrySchedule = "5s".parse().unwrap();

        let first = claim(conn, &subscription, 10);
        assert_eq!(first.deliveries.len(), 2);
        assert!(first.deliveries.iter().all(|c| c.attempt == 1 && c.event.event_type == "publish_scheduled_created"));
        assert!(first.deliveries[0].event.seq < first.deliveries[1].event.seq);
        assert!(claim(conn, &subscription, 10).deliveries.is_empty(), "held by the first claim");

        // One delivered, one failed: the failed one waits 5 s.
        let mut attempts = outcome(&first, false);
        attempts[0] = outcome(&first, true).remove(0);
        assert_eq!(report_deliveries(conn, &first, &attempts, &schedule, Utc::now()).unwrap(), 2);
        let page = list_deliveries(conn, &subscription, &DeliveryFilter::default()).unwrap();
        let (failed, delivered) = (&page.deliveries[0], &page.deliveries[1]);
        assert_eq!((delivered.status, delivered.last_status, delivered.attempts), (DeliveryStatus::Delivered, Some(204), 1));
        assert!(delivered.delivered_at.is_some() && delivered.next_attempt_at.is_none());
        assert_eq!(delivered.last_response.as_ref().map(String::len), Some(1024));
        assert_eq!((failed.status, failed.last_status, failed.last_error.as_deref()), (DeliveryStatus::Pending, Some(500), Some("HTTP 500")));
        let wait = failed.next_attempt_at.unwrap() - Utc::now();
        assert!(wait > TimeDelta::seconds(3) && wait <= TimeDelta::seconds(5), "{wait}");
        assert!(claim(conn, &subscription, 10).deliveries.is_empty(), "not due for 5 s");
        // A second report with the same token changes nothing.
        assert_eq!(report_deliveries(conn, &first, &attempts, &schedule, Utc::now()).unwrap(), 0);

        // Its second attempt is the schedule's last: it fails for good.
        make_due(conn, &subscription);
        let second = claim(conn, &subscription, 10);
        assert_eq!(second.deliveries.len(), 1);
        assert_eq!(second.deliveries[0].attempt, 2);
        report_deliveries(conn, &second, &outcome(&second, false), &schedule, Utc::now()).unwrap();
        let failed_list = DeliveryFilter { status: Some(DeliveryStatus::Failed), ..DeliveryFilter::default() };
        let page = list_deliveries(conn, &subscription, &failed_list).unwrap();
        assert_eq!(page.deliveries.len(), 1);
        assert_eq!((page.deliveries[0].attempts, page.deliveries[0].next_attempt_at), (2, None));
        make_due(conn, &subscription);
        assert!(claim(conn, &subscription, 10).deliveries.is_empty(), "failed is not retried by itself");

        // By hand: due now, its attempts started over.
        let retried = retry_delivery(conn, &subscription, &page.deliveries[0].event_id, Utc::now()).unwrap();
        assert_eq!((retried.status, retried.attempts), (DeliveryStatus::Pending, 0));
        let third = claim(conn, &subscription, 10);
        assert_eq!(third.deliveries.iter().map(|c| c.attempt).collect::<Vec<_>>(), [1]);
    }

    fn a_delivery_whose_lease_ran_out_is_claimed_again_and_the_old_report_is_void(db) {
        let conn = &mut db.conn();
        let subscription = subscribe(conn, None);
        post(conn);
        fan_out_until(conn, 1);
        let lost = claim(conn, &subscription, 10);
        assert_eq!(lost.deliveries.len(), 1);
        let held = list_deliveries(conn, &subscription, &DeliveryFilter::default()).unwrap().deliveries.remove(0);
        let lease = held.next_attempt_at.unwrap() - Utc::now();
        assert!(lease > TimeDelta::seconds(28) && lease <= TimeDelta::seconds(30), "{lease}");
        make_due(conn, &subscription);
        let again = claim(conn, &subscription, 10);
        assert_eq!(again.deliveries.len(), 1);
        assert_eq!(again.deliveries[0].attempt, 2);
        let schedule = RetrySchedule::default();
        assert_eq!(report_deliveries(conn, &lost, &outcome(&lost, true), &schedule, Utc::now()).unwrap(), 0);
        assert_eq!(report_deliveries(conn, &again, &outcome(&again, true), &schedule, Utc::now()).unwrap(), 1);
        // A replay by hand: pending again, no longer delivered.
        let delivered = list_deliveries(conn, &subscription, &DeliveryFilter::default()).unwrap().deliveries.remove(0);
        assert!(delivered.delivered_at.is_some());
        let replay = retry_delivery(conn, &subscription, &delivered.event_id, Utc::now()).unwrap();
        assert_eq!((replay.status, replay.attempts, replay.delivered_at), (DeliveryStatus::Pending, 0, None));
    }

    fn an_answer_with_a_nul_byte_is_stored_and_settles_the_delivery(db) {
        let conn = &mut db.conn();
        let subscription = subscribe(conn, None);
        post(conn);
        fan_out_until(conn, 1);
        let claimed = claim(conn, &subscription, 10);
        let mut attempts = outcome(&claimed, true);
        attempts[0].response = Some(format!("ok\0{}", "é".repeat(600)));
        let schedule = RetrySchedule::default();
        assert_eq!(report_deliveries(conn, &claimed, &attempts, &schedule, Utc::now()).unwrap(), 1);
        let stored = list_deliveries(conn, &subscription, &DeliveryFilter::default()).unwrap().deliveries.remove(0);
        assert_eq!(stored.status, DeliveryStatus::Delivered);
        let response = stored.last_response.unwrap();
        assert!(response.starts_with("ok\u{fffd}é") && response.len() <= 1024, "{response}");
    }

    fn retries_by_hand_replay_any_wanted_event_and_refuse_the_rest(db) {
        let conn = &mut db.conn();
        let before = post(conn);
        let subscription = subscribe(conn, Some(vec![EventType::Created]));
        let event = |conn: &mut Conn, log: &str, kind: &str| -> String {
            l::ledger_events.filter(l::entity_id.eq(log)).filter(l::event_type.eq(kind))
                .select(l::id).get_result(conn).unwrap()
        };
        // An event from before the subscription: replayed on request.
        let old = event(conn, &before, "publish_scheduled_created");
        let replayed = retry_delivery(conn, &subscription, &old, Utc::now()).unwrap();
        assert_eq!((replayed.status, replayed.event_id.as_str()), (DeliveryStatus::Pending, old.as_str()));
        fn not_found<T: std::fmt::Debug>(r: Result<T, StoreError>) {
            assert!(matches!(r, Err(StoreError::NotFound { .. })), "{r:?}");
        }
        cancel(conn, &before, Utc::now()).unwrap();
        let cancelled = event(conn, &before, "publish_scheduled_cancelled");
        not_found(retry_delivery(conn, &subscription, &cancelled, Utc::now()));
        not_found(retry_delivery(conn, &subscription, "evt_nope", Utc::now()));
        not_found(retry_delivery(conn, "wh_nope", &old, Utc::now()));
        not_found(list_deliveries(conn, "wh_nope", &DeliveryFilter::default()));

        // Pages, newest event first.
        for _ in 0..5 {
            post(conn);
        }
        fan_out_until(conn, 5);
        let mut seen = Vec::new();
        let mut filter = DeliveryFilter { limit: 2, ..DeliveryFilter::default() };
        loop {
            let page = list_deliveries(conn, &subscription, &filter).unwrap();
            seen.extend(page.deliveries.iter().map(|d| d.event_seq));
            match page.next {
                Some(next) => filter.before = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), 6);
        assert!(seen.windows(2).all(|w| w[0] > w[1]), "{seen:?}");

        delete_subscription(conn, &subscription).unwrap();
        not_found(get_subscription(conn, &subscription));
        not_found(delete_subscription(conn, &subscription));
        let left: i64 = d::webhook_deliveries.count().get_result(conn).unwrap();
        assert_eq!(left, 0);
    }

    fn concurrent_deliverers_claim_each_delivery_once(db) {
        let subscription = {
            let conn = &mut db.conn();
            let subscription = subscribe(conn, None);
            for _ in 0..150 {
                post(conn);
            }
            assert_eq!(fan_out_until(conn, 150), 150);
            subscription
        };
        let url = db.database_url();
        let barrier = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4).map(|_| {
            let (url, barrier, subscription) = (url.clone(), barrier.clone(), subscription.clone());
            thread::spawn(move || {
                let mut conn = connect(&url, false).unwrap();
                barrier.wait();
                let mut mine = Vec::new();
                loop {
                    let claimed = claim(&mut conn, &subscription, 7);
                    if claimed.deliveries.is_empty() {
                        break mine;
                    }
                    mine.extend(claimed.deliveries.iter().map(|c| c.event.id.clone()));
                }
            })
        }).collect();
        let claimed: Vec<String> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
        assert_eq!(claimed.len(), 150);
        assert_eq!(claimed.iter().collect::<HashSet<_>>().len(), 150);
    }

    fn fan_out_misses_no_event_while_writers_commit(db) {
        let subscription = subscribe(&mut db.conn(), None);
        let url = db.database_url();
        let done = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..4).map(|_| {
            let url = url.clone();
            thread::spawn(move || {
                let mut conn = connect(&url, false).unwrap();
                for _ in 0..40 {
                    post(&mut conn);
                }
            })
        }).collect();
        let reader = {
            let (url, done) = (url.clone(), done.clone());
            thread::spawn(move || {
                let mut conn = connect(&url, false).unwrap();
                let mut made = 0;
                while !done.load(Ordering::Relaxed) {
                    made += fan_out(&mut conn, 7, Utc::now()).unwrap().made;
                    // As a deliverer looks: between writers, not in a loop that starves
                    // SQLite's busy handler.
                    thread::sleep(Duration::from_millis(5));
                }
                made + fan_out_until(&mut conn, 160 - made)
            })
        };
        for writer in writers {
            writer.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        let made = reader.join().unwrap();
        let conn = &mut db.conn();
        let created: i64 = l::ledger_events.filter(l::event_type.eq("publish_scheduled_created")).count().get_result(conn).unwrap();
        assert_eq!(created, 160);
        assert_eq!(made, 160);
        let rows: i64 = d::webhook_deliveries.filter(d::subscription_id.eq(&subscription)).count().get_result(conn).unwrap();
        assert_eq!(rows, 160);
    }
}

/// PostgreSQL, where transactions commit in any order: an event whose transaction began before
/// the subscription and committed after it is delivered; one committed before is not.
#[test]
fn an_event_committed_after_the_subscription_is_delivered_whenever_its_transaction_began() {
    let Some(db) = scheduler_testkit::TestDb::postgres() else {
        return;
    };
    db.migrate();
    let before = post(&mut db.conn());
    let (began, subscribed) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let writer = {
        let (url, began, subscribed) = (db.database_url(), began.clone(), subscribed.clone());
        thread::spawn(move || {
            let mut conn = connect(&url, false).unwrap();
            scheduler_store::write_transaction(&mut conn, |conn| {
                let log = post(conn);
                began.wait();
                subscribed.wait();
                Ok::<_, StoreError>(log)
            })
            .unwrap()
        })
    };
    began.wait();
    let subscription = subscribe(&mut db.conn(), None);
    subscribed.wait();
    let during = writer.join().unwrap();
    let conn = &mut db.conn();
    assert_eq!(fan_out_until(conn, 1), 1);
    let delivered: Vec<String> = d::webhook_deliveries
        .filter(d::subscription_id.eq(&subscription))
        .inner_join(l::ledger_events.on(l::seq.eq(d::event_seq)))
        .select(l::entity_id)
        .load(conn)
        .unwrap();
    assert_eq!(delivered, [during], "not {before}");
}
