//! Webhooks over HTTP: subscribing (and what is refused), events reaching a receiver signed,
//! failures listed and retried by hand, and the metrics they leave.

use std::time::{Duration, Instant};

use scheduler_testkit::{Receiver, Reply};
use serde_json::{json, Value};

use crate::support::{assert_instant, both_backends, spawn, spawn_with, TestApp};

/// A server whose webhooks may go to this machine, retried once after a second.
async fn spawn_delivering(backend: crate::support::Backend) -> TestApp {
    spawn_with(backend, |config| {
        config.allow_private_webhooks = true;
        config.webhook_retry_schedule = "1s".parse().unwrap();
    })
    .await
}

async fn subscribe(app: &TestApp, body: Value) -> (String, String) {
    let r = app.post("/webhooks", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    (id, r.body["secret"].as_str().unwrap().to_owned())
}

/// Waits up to 20 s for `done` to hold.
async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn deliveries(app: &TestApp, webhook: &str, query: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/webhooks/{webhook}/deliveries{query}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().clone()
}

both_backends! {
    async fn subscriptions_refuse_what_cannot_be_delivered_and_show_the_secret_once(backend) {
        let app = spawn(backend).await;
        for (body, status, code) in [
            (json!({"url": "http://127.0.0.1:9/hook"}), 422, "invalid_field"),
            (json!({"url": "http://localhost:9/hook"}), 422, "invalid_field"),
            (json!({"url": "http://[::1]/hook"}), 422, "invalid_field"),
            (json!({"url": "http://169.254.169.254/latest"}), 422, "invalid_field"),
            (json!({"url": "ftp://203.0.113.7/hook"}), 422, "invalid_field"),
            (json!({"url": "not a url"}), 422, "invalid_field"),
            (json!({"url": "https://203.0.113.7/", "event_types": []}), 422, "invalid_field"),
            (json!({"url": "https://203.0.113.7/", "event_types": ["publish_exploded"]}), 422, "invalid_field"),
            (json!({"url": "https://203.0.113.7/", "eventTypes": ["publish_published"]}), 400, "unknown_field"),
            (json!({"url": 7}), 400, "invalid_field"),
        ] {
            let r = app.post("/webhooks", &body).await;
            assert_eq!((r.status.as_u16(), r.body["code"].as_str()), (status, Some(code)), "{body}: {}", r.text);
        }
        let r = app.get("/webhooks").await;
        assert_eq!(r.body["items"], json!([]), "nothing refused was written");

        let r = app.post("/webhooks", &json!({"url": "https://203.0.113.7/hook", "event_types": ["publish_published"], "description": "team"})).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.body["id"].as_str().unwrap();
        assert_eq!(r.headers["location"].to_str().unwrap(), format!("/webhooks/{id}"));
        let secret = r.body["secret"].as_str().unwrap();
        assert!(secret.starts_with("whsec_") && secret.len() == 6 + 44, "{secret}");
        assert_instant(&r.body["created_at"]);
        let r = app.get(&format!("/webhooks/{id}")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["event_types"], json!(["publish_published"]));
        assert!(r.body.get("secret").is_none(), "{}", r.text);
        let r = app.get("/webhooks").await;
        assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
        assert!(r.body["items"][0].get("secret").is_none());
        assert_eq!(deliveries(&app, id, "").await, Vec::<Value>::new());

        let r = app.send(app.request("DELETE", &format!("/webhooks/{id}"))).await;
        assert_eq!(r.status, 204);
        for path in [format!("/webhooks/{id}"), format!("/webhooks/{id}/deliveries")] {
            assert_eq!(app.get(&path).await.status, 404);
        }
        let r = app.send(app.request("DELETE", &format!("/webhooks/{id}"))).await;
        assert_eq!((r.status.as_u16(), r.body["code"].as_str()), (404, Some("not_found")));
        let r = app.get("/webhooks/wh_nope/deliveries?status=lost").await;
        assert_eq!(r.status, 400, "{}", r.text);
    }

    async fn events_arrive_signed_and_failures_are_listed_and_retried_by_hand(backend) {
        let app = spawn_delivering(backend).await;
        // Cancellations fail until their third delivery; everything else is taken.
        let receiver = Receiver::start(|d| {
            if d.body["type"] == "publish_scheduled_cancelled" && d.nth <= 2 {
                Reply::Status(500, "not now".into())
            } else {
                Reply::ok()
            }
        });
        let redirected = Receiver::start(|_| Reply::Status(302, String::new()));
        let (hook, secret) = subscribe(&app, json!({"url": receiver.url})).await;
        let (moved, _) = subscribe(&app, json!({"url": redirected.url, "event_types": ["publish_scheduled_cancelled"]})).await;

        app.account("acc", "instagram", "UTC").await;
        app.clip("clip").await;
        let r = app.schedule("clip", "acc", "2099-01-10T20:00:00Z").await;
        let log = r.body["publish_log_id"].as_str().unwrap().to_owned();
        let r = app.post(&format!("/publishing/logs/{log}/cancel"), &json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text);

        until("the cancellation to fail twice", async || {
            deliveries(&app, &hook, "?status=failed").await.len() == 1
        }).await;
        let got = receiver.deliveries();
        let events = app.get(&format!("/ledger/events?entity_id={log}")).await.body;
        let events = events.as_array().unwrap();
        assert_eq!(got.iter().filter(|d| d.nth == 1).count(), 2);
        // Each event's first delivery (a batch is sent at once: they may arrive in any order).
        for event in events {
            let delivery = got.iter().find(|d| d.id == event["id"].as_str().unwrap()).expect("delivered");
            assert!(delivery.verifies(&secret), "{delivery:?}");
            assert!(!delivery.verifies("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
            assert_eq!(delivery.body, json!({"type": event["event_type"], "timestamp": event["created_at"], "data": event}));
        }
        let failed = &deliveries(&app, &hook, "?status=failed").await[0];
        assert_eq!((failed["event_type"].as_str(), failed["attempts"].as_i64()), (Some("publish_scheduled_cancelled"), Some(2)));
        assert_eq!((failed["last_status"].as_i64(), failed["last_response"].as_str()), (Some(500), Some("not now")));
        assert_eq!(failed["next_attempt_at"], Value::Null);
        let all = deliveries(&app, &hook, "").await;
        assert_eq!(all.iter().map(|d| d["status"].as_str().unwrap()).collect::<Vec<_>>(), ["failed", "delivered"]);
        assert_instant(&all[1]["delivered_at"]);

        // A redirect is an answer that is not 2xx: not followed.
        until("the redirected delivery to fail", async || {
            deliveries(&app, &moved, "?status=failed").await.len() == 1
        }).await;
        let failed = &deliveries(&app, &moved, "").await[0];
        assert_eq!(failed["last_status"], 302);
        assert!(failed["last_error"].as_str().unwrap().contains("redirect"), "{failed}");

        // By hand, once the receiver is fixed (it takes a cancellation's third delivery).
        let failed = &deliveries(&app, &hook, "?status=failed").await[0];
        let event = failed["event_id"].as_str().unwrap();
        let r = app.post(&format!("/webhooks/{hook}/deliveries/{event}/retry"), &json!({})).await;
        assert_eq!((r.status.as_u16(), r.body["status"].as_str(), r.body["attempts"].as_i64()), (202, Some("pending"), Some(0)), "{}", r.text);
        until("the retried delivery", async || {
            deliveries(&app, &hook, "?status=delivered").await.len() == 2
        }).await;
        assert_eq!(receiver.deliveries().iter().filter(|d| d.id == event).count(), 3);
        for missing in [format!("/webhooks/{hook}/deliveries/evt_nope/retry"), format!("/webhooks/wh_nope/deliveries/{event}/retry")] {
            assert_eq!(app.post(&missing, &json!({})).await.status, 404);
        }

        let metrics = app.get("/metrics").await.text;
        for line in [
            r#"scheduler_webhook_deliveries_total{result="delivered"} 2"#,
            r#"scheduler_webhook_deliveries_total{result="retrying"} 2"#,
            r#"scheduler_webhook_deliveries_total{result="failed"} 2"#,
        ] {
            assert!(metrics.contains(line), "{line} in\n{metrics}");
        }
    }
}
