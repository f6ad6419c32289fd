//! The deliverer against a real database and receiver, on each backend: what it does when the
//! receiver's address is refused at send time, and what it keeps of a long, binary answer.

use chrono::Utc;
use scheduler_core::RuleSet;
use scheduler_store::webhooks::{
    create_subscription, list_deliveries, DeliveryFilter, DeliveryStatus, NewSubscription,
};
use scheduler_store::{
    create_account, create_clip, schedule, Db, NewAccount, NewClip, NewSchedule, OpenOptions,
    ScheduledBy,
};
use scheduler_testkit::{backends, Receiver, Reply, TestDb};
use scheduler_webhooks::{Config, Deliverer, Secret};

/// A fresh database with the subscriptions to `urls` (made behind the API's checks, as a
/// server with `--allow-private-webhooks` would have let them be) and one event after them.
fn database_with(backend: scheduler_testkit::Backend, urls: &[String]) -> (TestDb, Vec<String>) {
    let db = TestDb::new(backend);
    db.migrate();
    let conn = &mut db.conn();
    let ids = urls
        .iter()
        .map(|url| {
            let new = NewSubscription {
                url: url.clone(),
                event_types: None,
                description: None,
                secret: Secret::generate().unwrap().expose(),
            };
            create_subscription(conn, &new, Utc::now()).unwrap().id
        })
        .collect();
    let rules = RuleSet::default();
    let account = NewAccount {
        platform: "instagram".into(),
        ..NewAccount::default()
    };
    let account = create_account(conn, &rules, &account, Utc::now()).unwrap();
    let clip = create_clip(conn, &NewClip::default(), Utc::now()).unwrap();
    let request = NewSchedule {
        clip_id: clip.id,
        platform: "instagram".into(),
        social_account_id: account.id,
        scheduled_for: Some("2099-01-10T20:00:00Z".parse().unwrap()),
        scheduled_window_end: None,
        scheduled_by: ScheduledBy::Manual,
        priority: scheduler_core::Priority::Normal,
        strategy: scheduler_store::Strategy::Earliest,
    };
    schedule(conn, &rules, &request, Utc::now()).unwrap();
    (db, ids)
}

/// One pass of a deliverer on `db`; the subscription's deliveries afterwards.
async fn deliver_once(
    db: &TestDb,
    allow_private: bool,
    subscription: &str,
) -> Vec<scheduler_store::webhooks::Delivery> {
    let store = Db::open(&db.database_url(), &OpenOptions::default()).unwrap();
    let config = Config {
        allow_private,
        ..Config::default()
    };
    let deliverer = Deliverer::new(store, config).unwrap();
    // The feed may hold an event back while another test's transaction runs (PostgreSQL):
    // passes until the delivery is made.
    for _ in 0..100 {
        deliverer.pass().await.unwrap();
        let page = list_deliveries(&mut db.conn(), subscription, &DeliveryFilter::default());
        let deliveries = page.unwrap().deliveries;
        if deliveries.iter().any(|d| d.attempts > 0) {
            return deliveries;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no attempt was made");
}

#[tokio::test]
async fn an_address_inside_is_refused_at_send_time_literal_or_resolved() {
    for backend in backends() {
        let receiver = Receiver::start(|_| Reply::ok());
        let port = receiver
            .url
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches("/hook")
            .to_owned();
        let urls = [
            receiver.url.clone(),
            format!("http://localhost:{port}/hook"),
        ];
        let (db, ids) = database_with(backend, &urls);
        for (subscription, why) in ids
            .iter()
            .zip(["127.0.0.1 (loopback address)", "localhost resolves to"])
        {
            let deliveries = deliver_once(&db, false, subscription).await;
            assert_eq!(deliveries.len(), 1, "{backend:?}");
            let delivery = &deliveries[0];
            assert_eq!(
                (delivery.status, delivery.attempts, delivery.last_status),
                (DeliveryStatus::Pending, 1, None)
            );
            let error = delivery.last_error.as_deref().unwrap_or_default();
            assert!(error.contains(why), "{backend:?}: {error}");
        }
        assert_eq!(
            receiver.count(),
            0,
            "{backend:?}: nothing reached the receiver"
        );
    }
}

#[tokio::test]
async fn a_long_binary_answer_is_kept_cut_and_the_delivery_settles() {
    for backend in backends() {
        let answer = format!("ok\0{}", "x".repeat(5000));
        let receiver = Receiver::start(move |_| Reply::Status(200, answer.clone()));
        let (db, ids) = database_with(backend, std::slice::from_ref(&receiver.url));
        let deliveries = deliver_once(&db, true, &ids[0]).await;
        let delivery = &deliveries[0];
        assert_eq!(
            (delivery.status, delivery.last_status),
            (DeliveryStatus::Delivered, Some(200)),
            "{backend:?}"
        );
        let kept = delivery.last_response.as_deref().unwrap();
        assert!(
            kept.starts_with("ok\u{fffd}xx") && kept.len() == 1024,
            "{backend:?}: {} bytes",
            kept.len()
        );
        assert_eq!(receiver.count(), 1);
    }
}
