//! Priority (contract section 12): a `high` post takes the slot lower-priority scheduled posts
//! hold, and they move forward in their old order, each with its reason and event.

use serde_json::{json, Value};

use crate::support::{both_backends, spawn, TestApp};

async fn post(app: &TestApp, at: &str, priority: Option<&str>) -> Value {
    let mut body = json!({"clip_id": "clip", "platform": "instagram", "social_account_id": "acc", "scheduled_for": at});
    if let Some(p) = priority {
        body["priority"] = json!(p);
    }
    let r = app.post("/publishing/schedule", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

async fn log(app: &TestApp, id: &Value) -> Value {
    app.get(&format!("/publishing/logs/{}", id.as_str().unwrap()))
        .await
        .body
}

both_backends! {
    async fn a_high_post_displaces_lower_ones_in_their_order(backend) {
        let app = spawn(backend).await;
        app.account("acc", "instagram", "UTC").await;
        app.clip("clip").await;
        let normal = post(&app, "2099-01-15T19:00:00Z", None).await["publish_log_id"].clone();
        let low = post(&app, "2099-01-15T20:00:00Z", Some("low")).await["publish_log_id"].clone();
        let later = post(&app, "2099-01-15T22:00:00Z", Some("normal")).await["publish_log_id"].clone();
        assert_eq!(log(&app, &low).await["priority"], "low");

        let high = post(&app, "2099-01-15T19:00:00Z", Some("high")).await;
        assert_eq!(high["scheduled_for"], "2099-01-15T19:00:00Z");
        assert_eq!(high["reason"], "Scheduled as requested; displaced 2 lower-priority posts");
        let high_id = high["publish_log_id"].clone();
        assert_eq!(log(&app, &high_id).await["priority"], "high");
        let reason = format!("Displaced by higher-priority {}", high_id.as_str().unwrap());
        for (id, at) in [(&normal, "2099-01-15T20:00:00Z"), (&low, "2099-01-15T21:00:00Z")] {
            let moved = log(&app, id).await;
            assert_eq!(moved["scheduled_for"], at);
            assert_eq!(moved["status"], "scheduled");
            let events = app.get(&format!("/ledger/events?entity_id={}", id.as_str().unwrap())).await.body;
            assert_eq!(events[0]["event_type"], "publish_scheduled_rescheduled", "{events}");
            assert_eq!(events[0]["metadata"]["new_scheduled_for"], at);
            assert_eq!(events[0]["metadata"]["reason"], json!(reason));
        }
        // The 22:00 post is an hour clear of the low one's new 21:00: it stays.
        assert_eq!(log(&app, &later).await["scheduled_for"], "2099-01-15T22:00:00Z");
        let events = app.get(&format!("/ledger/events?entity_id={}", later.as_str().unwrap())).await.body;
        assert_eq!(events.as_array().unwrap().len(), 1, "{events}");

        // Another high post does not displace the first: it takes the next slot, 20:00, and
        // the three lower-priority posts move on again, the last to the next day's window.
        let second = post(&app, "2099-01-15T19:00:00Z", Some("high")).await;
        assert_eq!(second["scheduled_for"], "2099-01-15T20:00:00Z", "{second}");
        assert_eq!(second["reason"], "Adjusted 60min forward to respect 60min gap; displaced 3 lower-priority posts");
        assert_eq!(log(&app, &high_id).await["scheduled_for"], "2099-01-15T19:00:00Z");
        for (id, at) in [(&normal, "2099-01-15T21:00:00Z"), (&low, "2099-01-15T22:00:00Z"), (&later, "2099-01-16T18:00:00Z")] {
            assert_eq!(log(&app, id).await["scheduled_for"], at);
        }
    }

    async fn priority_in_a_batch_and_its_refusals(backend) {
        let app = spawn(backend).await;
        app.account("acc", "instagram", "UTC").await;
        app.clip("clip").await;
        let item = |at: &str, priority: &str| json!({"clip_id": "clip", "platform": "instagram",
            "social_account_id": "acc", "scheduled_for": at, "priority": priority});
        let r = app.post("/publishing/schedule/batch", &json!({"items": [
            item("2099-02-01T19:00:00Z", "low"), item("2099-02-01T19:00:00Z", "HIGH"),
        ]})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let results = r.body["results"].as_array().unwrap();
        assert_eq!(results[1]["scheduled_for"], "2099-02-01T19:00:00Z", "{}", r.text);
        assert_eq!(results[1]["reason"], "Scheduled as requested; displaced 1 lower-priority posts");
        // The first answer tells where its post ended, after the second displaced it.
        assert_eq!(results[0]["scheduled_for"], "2099-02-01T20:00:00Z", "{}", r.text);
        assert_eq!(results[0]["reason"], json!(format!("Displaced by higher-priority {}", results[1]["publish_log_id"].as_str().unwrap())));
        let low_id = &results[0]["publish_log_id"];
        assert_eq!(log(&app, low_id).await["scheduled_for"], "2099-02-01T20:00:00Z");
        let events = app.get(&format!("/ledger/events?entity_id={}", low_id.as_str().unwrap())).await.body;
        assert_eq!(events[0]["metadata"]["reason"], json!(format!("Displaced by higher-priority {}", results[1]["publish_log_id"].as_str().unwrap())));

        let before = app.counts();
        for (priority, status, code) in [(json!("urgent"), 422, "invalid_field"), (json!(2), 400, "invalid_field")] {
            let body = json!({"clip_id": "clip", "platform": "instagram", "social_account_id": "acc",
                              "scheduled_for": "2099-02-02T19:00:00Z", "priority": priority});
            let r = app.post("/publishing/schedule", &body).await;
            assert_eq!(r.status, status, "{priority}: {}", r.text);
            assert_eq!(r.body["code"], code, "{}", r.text);
        }
        assert_eq!(app.counts(), before);
    }

    async fn a_window_end_its_client_gave_holds_against_displacement(backend) {
        let app = spawn(backend).await;
        app.account("acc", "instagram", "UTC").await;
        app.clip("clip").await;
        // 22:00 with a bound of 22:30: moving it past 23:00 (the next day) would break it.
        let body = json!({"clip_id": "clip", "platform": "instagram", "social_account_id": "acc",
                          "scheduled_for": "2099-03-01T22:00:00Z", "scheduled_window_end": "2099-03-01T22:30:00Z"});
        let bound = app.post("/publishing/schedule", &body).await.body["publish_log_id"].clone();
        let high = post(&app, "2099-03-01T22:00:00Z", Some("high")).await;
        assert_eq!(high["scheduled_for"], "2099-03-02T18:00:00Z", "{high}");
        assert_eq!(log(&app, &bound).await["scheduled_for"], "2099-03-01T22:00:00Z");
        // Without a bound of its own, the same post moves to the next day's window.
        let free = post(&app, "2099-03-05T22:00:00Z", None).await["publish_log_id"].clone();
        let high = post(&app, "2099-03-05T22:00:00Z", Some("high")).await;
        assert_eq!(high["scheduled_for"], "2099-03-05T22:00:00Z", "{high}");
        assert_eq!(log(&app, &free).await["scheduled_for"], "2099-03-06T18:00:00Z");
    }
}
