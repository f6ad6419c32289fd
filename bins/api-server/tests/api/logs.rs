//! GET /publishing/schedule/{clip_id}, GET /publishing/logs/{id}, cancel, reschedule, tick.

use serde_json::{json, Value};

use crate::support::{assert_instant, both_backends, spawn, TestApp};

async fn setup(app: &TestApp) -> (String, String) {
    app.account("acc", "instagram", "UTC").await;
    app.clip("clip").await;
    let first = app.schedule("clip", "acc", "2099-01-15T21:00:00Z").await;
    let second = app.schedule("clip", "acc", "2099-01-15T19:00:00Z").await;
    (
        first.body["publish_log_id"].as_str().unwrap().to_owned(),
        second.body["publish_log_id"].as_str().unwrap().to_owned(),
    )
}

#[track_caller]
fn assert_log(log: &Value, id: &str, status: &str, at: &str) {
    let mut expected = json!({
        "id": id, "clip_id": "clip", "platform": "instagram", "social_account_id": "acc",
        "status": status, "schedule_type": "scheduled", "scheduled_for": at,
        "scheduled_window_end": "2099-01-15T23:00:00Z", "scheduled_by": "manual",
        "attempt": 0, "platform_post_id": null, "permalink": null, "last_error": null,
        "lease_expires_at": null, "series_id": null, "priority": "normal", "metrics": null,
    });
    assert_instant(&log["created_at"]);
    assert_instant(&log["updated_at"]);
    expected["created_at"] = log["created_at"].clone();
    expected["updated_at"] = log["updated_at"].clone();
    assert_eq!(log, &expected);
}

both_backends! {
    async fn clip_schedule_lists_every_log_by_time(backend) {
        let app = spawn(backend).await;
        let (late, early) = setup(&app).await;
        let r = app.get("/publishing/schedule/clip").await;
        assert_eq!(r.status, 200, "{}", r.text);
        let list = r.body.as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_log(&list[0], &early, "scheduled", "2099-01-15T19:00:00Z");
        assert_log(&list[1], &late, "scheduled", "2099-01-15T21:00:00Z");
        // A cancelled log stays in the list.
        assert_eq!(app.post_raw(&format!("/publishing/logs/{early}/cancel"), "").await.status, 200);
        let r = app.get("/publishing/schedule/clip").await;
        assert_eq!(r.body[0]["status"], "cancelled");
        app.clip("empty").await;
        assert_eq!(app.get("/publishing/schedule/empty").await.body, json!([]));
        app.get("/publishing/schedule/nope").await.assert_error(404, "not_found");
    }

    async fn log_read(backend) {
        let app = spawn(backend).await;
        let (late, _) = setup(&app).await;
        let r = app.get(&format!("/publishing/logs/{late}")).await;
        assert_eq!(r.status, 200);
        assert_log(&r.body, &late, "scheduled", "2099-01-15T21:00:00Z");
        app.get("/publishing/logs/log_nope").await.assert_error(404, "not_found");
        app.get("/publishing/logs/%00").await.assert_error(404, "not_found");
    }

    async fn cancel(backend) {
        let app = spawn(backend).await;
        let (late, _) = setup(&app).await;
        // No body and no Content-Type.
        let r = app.send(app.request("POST", &format!("/publishing/logs/{late}/cancel"))).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_log(&r.body, &late, "cancelled", "2099-01-15T21:00:00Z");
        let before = app.counts();
        app.post_raw(&format!("/publishing/logs/{late}/cancel"), "").await.assert_error(409, "invalid_state");
        app.post_raw("/publishing/logs/log_nope/cancel", "").await.assert_error(404, "not_found");
        assert_eq!(app.counts(), before);
        let events = app.get(&format!("/ledger/events?entity_id={late}&event_type=publish_scheduled_cancelled")).await;
        assert_eq!(events.body.as_array().unwrap().len(), 1);
    }

    async fn reschedule(backend) {
        let app = spawn(backend).await;
        let (late, _) = setup(&app).await;
        let r = app.post(&format!("/publishing/logs/{late}/reschedule"),
                         &json!({"scheduled_for": "2099-01-15T19:30:00Z"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["reason"], "Adjusted 30min forward to respect 60min gap");
        let mut log = r.body.clone();
        log.as_object_mut().unwrap().remove("reason");
        assert_log(&log, &late, "scheduled", "2099-01-15T20:00:00Z");

        // An empty body: the next free slot from now.
        let r = app.post_raw(&format!("/publishing/logs/{late}/reschedule"), "").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.body["reason"].is_string());

        let before = app.counts();
        let r = app.post(&format!("/publishing/logs/{late}/reschedule"),
                         &json!({"scheduled_for": "2020-01-01T00:00:00Z"})).await;
        r.assert_error(422, "past_time");
        assert_eq!(r.body["error"], "scheduled_for is in the past: 2020-01-01T00:00:00Z");
        app.post(&format!("/publishing/logs/{late}/reschedule"),
                 &json!({"scheduled_for": "2099-01-15T19:30:00Z", "scheduled_window_end": "2099-01-15T19:40:00Z"}))
            .await.assert_error(422, "no_slot");
        app.post(&format!("/publishing/logs/{late}/reschedule"),
                 &json!({"scheduled_for": "0000-01-01T00:00:00Z"})).await.assert_error(422, "out_of_range");
        app.post(&format!("/publishing/logs/{late}/reschedule"),
                 &json!({"scheduled_for": 5})).await.assert_error(400, "invalid_field");
        app.post_raw(&format!("/publishing/logs/{late}/reschedule"), "{").await.assert_error(400, "malformed_json");
        app.post("/publishing/logs/log_nope/reschedule", &json!({})).await.assert_error(404, "not_found");
        assert_eq!(app.counts(), before);
        app.post_raw(&format!("/publishing/logs/{late}/cancel"), "").await;
        app.post(&format!("/publishing/logs/{late}/reschedule"), &json!({})).await.assert_error(409, "invalid_state");
    }

    async fn tick_moves_due_logs(backend) {
        let app = spawn(backend).await;
        let (late, early) = setup(&app).await;
        app.make_due(&early);
        // Empty body, no Content-Type; dry run first.
        let r = app.post_raw("/publishing/scheduler/tick?dry_run=true", "").await;
        assert_eq!(r.body, json!({"moved": 1, "dry_run": true, "log_ids": [early.clone()],
                                  "leases_expired": 0, "expired_log_ids": [], "occurrences_made": 0}));
        assert_eq!(app.get(&format!("/publishing/logs/{early}")).await.body["status"], "scheduled");
        let r = app.send(app.request("POST", "/publishing/scheduler/tick")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body, json!({"moved": 1, "dry_run": false, "log_ids": [early.clone()],
                                  "leases_expired": 0, "expired_log_ids": [], "occurrences_made": 0}));
        assert_eq!(app.get(&format!("/publishing/logs/{early}")).await.body["status"], "pending");
        assert_eq!(app.get(&format!("/publishing/logs/{late}")).await.body["status"], "scheduled");
        let r = app.post_raw("/publishing/scheduler/tick?dry_run=false", "").await;
        assert_eq!(r.body, json!({"moved": 0, "dry_run": false, "log_ids": [],
                                  "leases_expired": 0, "expired_log_ids": [], "occurrences_made": 0}));
        let before = app.counts();
        app.post_raw("/publishing/scheduler/tick?dry_run=maybe", "").await.assert_error(400, "invalid_field");
        assert_eq!(app.counts(), before);
        // A pending log can no longer be cancelled.
        app.post_raw(&format!("/publishing/logs/{early}/cancel"), "").await.assert_error(409, "invalid_state");
    }
}
