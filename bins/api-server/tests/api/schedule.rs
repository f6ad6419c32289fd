//! POST /publishing/schedule and /publishing/schedule/batch.

use std::io::Write;

use serde_json::{json, Value};

use crate::support::{both_backends, spawn, spawn_with, TestApp};

async fn setup(app: &TestApp) {
    app.account("acc", "instagram", "UTC").await;
    app.account("tt", "tiktok", "UTC").await;
    app.clip("clip").await;
}

fn request(time: &str) -> Value {
    json!({"clip_id": "clip", "platform": "instagram", "social_account_id": "acc",
           "scheduled_for": time})
}

#[track_caller]
fn assert_scheduled(body: &Value, reason: &str, at: &str, window_end: &str) {
    let obj = body.as_object().unwrap();
    assert_eq!(obj.len(), 5, "{body}");
    assert!(
        body["publish_log_id"].as_str().unwrap().starts_with("log_"),
        "{body}"
    );
    assert_eq!(body["status"], "scheduled");
    assert_eq!(body["reason"], reason);
    assert_eq!(body["scheduled_for"], at);
    assert_eq!(body["scheduled_window_end"], window_end);
}

both_backends! {
    async fn scheduled_as_requested_then_adjusted(backend) {
        let app = spawn(backend).await;
        setup(&app).await;
        let r = app.post("/publishing/schedule", &request("2099-01-15T20:00:00Z")).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_scheduled(&r.body, "Scheduled as requested", "2099-01-15T20:00:00Z",
                         "2099-01-15T23:00:00Z");
        // A collision: pushed to the gap.
        let r = app.post("/publishing/schedule", &request("2099-01-15T20:30:00+00:00")).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_scheduled(&r.body, "Adjusted 30min forward to respect 60min gap",
                         "2099-01-15T21:00:00Z", "2099-01-15T23:00:00Z");
        // Before the window: moved to its start.
        let r = app.post("/publishing/schedule", &request("2099-01-16T10:00:00Z")).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_scheduled(&r.body, "Moved to window start 18:00 UTC",
                         "2099-01-16T18:00:00Z", "2099-01-16T23:00:00Z");
        let c = app.counts();
        assert_eq!((c.logs, c.events), (3, 5));
    }

    async fn optional_fields(backend) {
        let app = spawn(backend).await;
        setup(&app).await;
        // No time: the next free slot from now; an explicit window end and scheduled_by.
        let r = app.post("/publishing/schedule", &json!({"clip_id": "clip", "platform": "instagram",
            "social_account_id": "acc", "scheduled_by": "rule_engine", "scheduled_for": null})).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let r = app.post("/publishing/schedule", &json!({"clip_id": "clip", "platform": "instagram",
            "social_account_id": "acc", "scheduled_for": "2099-03-01T19:00:00Z",
            "scheduled_window_end": "2099-03-01T22:00:00Z", "scheduled_by": "campaign_orchestrator"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_scheduled(&r.body, "Scheduled as requested", "2099-03-01T19:00:00Z",
                         "2099-03-01T22:00:00Z");
        let log = app.get(&format!("/publishing/logs/{}", r.body["publish_log_id"].as_str().unwrap())).await;
        assert_eq!(log.body["scheduled_by"], "campaign_orchestrator");
    }

    async fn rejections_are_422_in_the_seed_shape_and_write_nothing(backend) {
        let app = spawn(backend).await;
        setup(&app).await;
        let r = app.post("/publishing/schedule", &request("2099-01-15T20:00:00Z")).await;
        assert_eq!(r.status, 201);
        let before = app.counts();
        let base = request("2099-01-15T20:00:00Z");
        let with = |key: &str, value: Value| {
            let mut b = base.clone();
            b[key] = value;
            b
        };
        let cases: Vec<(Value, &str, &str)> = vec![
            (with("clip_id", json!("nope")), "clip_not_found", "Clip not found: nope"),
            (with("social_account_id", json!("nobody")), "account_not_found", "Social account not found: nobody"),
            (with("platform", json!("tiktok")), "platform_mismatch", "Platform mismatch: "),
            (with("platform", json!("myspace")), "unknown_platform", "Unknown platform: myspace"),
            (with("scheduled_for", json!("2020-01-01T00:00:00Z")), "past_time",
             "scheduled_for is in the past: 2020-01-01T00:00:00Z"),
            (with("scheduled_window_end", json!("2099-01-15T20:30:00Z")), "no_slot",
             "No available slot before scheduled_window_end 2099-01-15T20:30:00Z"),
            (with("scheduled_by", json!("robot")), "invalid_field", "Invalid scheduled_by: robot"),
            (with("scheduled_for", json!("0001-01-01T00:00:00Z")), "out_of_range", "scheduled_for must be between"),
            (with("scheduled_for", json!("9999-12-31T23:59:59Z")), "no_slot",
             "No available slot before 9999-12-31T23:59:59Z, the end of the supported years"),
            (with("clip_id", json!("x".repeat(129))), "invalid_field", "clip_id must be"),
            (with("social_account_id", json!("a\nb")), "invalid_field", "social_account_id must be"),
        ];
        for (body, code, reason) in cases {
            let r = app.post("/publishing/schedule", &body).await;
            let got = r.assert_rejected(422, code);
            assert!(got.starts_with(reason), "{got:?} should start with {reason:?}");
        }
        assert_eq!(app.counts(), before);
    }

    async fn malformed_is_400_in_the_seed_shape(backend) {
        let app = spawn(backend).await;
        setup(&app).await;
        let before = app.counts();
        let malformed = "malformed_json";
        let invalid = "invalid_field";
        for (body, code) in [
            ("{", malformed), ("", malformed), ("[]", invalid), ("null", invalid), ("42", invalid),
            (r#"{"clip_id": 5, "platform": "instagram", "social_account_id": "acc"}"#, invalid),
            (r#"{"platform": "instagram", "social_account_id": "acc"}"#, invalid),
            (r#"{"clip_id": "clip", "platform": "instagram", "social_account_id": "acc", "scheduled_for": 1700000000}"#, invalid),
            (r#"{"clip_id": "clip", "platform": "instagram", "social_account_id": "acc", "scheduled_for": "tomorrow"}"#, invalid),
            (r#"{"clip_id": "clip", "platform": "instagram", "social_account_id": "acc", "scheduledFor": "2099-01-15T20:00:00Z"}"#, "unknown_field"),
        ] {
            let r = app.post_raw("/publishing/schedule", body).await;
            r.assert_rejected(400, code);
        }
        assert_eq!(app.counts(), before);
    }

    async fn oversize_body_is_413(backend) {
        let app = spawn(backend).await;
        setup(&app).await;
        let before = app.counts();
        let mut body = request("2099-01-15T20:00:00Z");
        body["padding"] = json!("p".repeat(300 * 1024));
        for path in ["/publishing/schedule", "/publishing/schedule/batch", "/accounts", "/clips"] {
            app.post(path, &body).await.assert_error(413, "payload_too_large");
        }
        assert_eq!(app.counts(), before);
    }

    async fn no_slot_within_the_horizon(backend) {
        let mut rules = tempfile::NamedTempFile::new().unwrap();
        writeln!(rules, "max_horizon_days = 1\n[platforms.instagram]\nmax_posts_per_day = 1").unwrap();
        let path = rules.path().to_owned();
        let app = spawn_with(backend, |c| c.rules = Some(path)).await;
        setup(&app).await;
        assert_eq!(app.post("/publishing/schedule", &request("2099-01-15T22:00:00Z")).await.status, 201);
        let before = app.counts();
        let r = app.post("/publishing/schedule", &request("2099-01-15T18:00:00Z")).await;
        assert_eq!(r.assert_rejected(422, "no_slot"), "No available slot within 1 days");
        assert_eq!(app.counts(), before);
    }

    async fn every_time_printed_is_rfc3339_in_the_supported_years(backend) {
        // With a ten-year horizon the search from the year 9999 reaches past it: no slot is
        // ever planned there, and no time the API prints has a five-digit year.
        let mut rules = tempfile::NamedTempFile::new().unwrap();
        writeln!(rules, "max_horizon_days = 3650").unwrap();
        let path = rules.path().to_owned();
        let app = spawn_with(backend, |c| c.rules = Some(path)).await;
        setup(&app).await;
        let tiktok = |time: &str| json!({"clip_id": "clip", "platform": "tiktok",
                                         "social_account_id": "tt", "scheduled_for": time});
        let beyond = "No available slot before 9999-12-31T23:59:59Z, the end of the supported years";
        // TikTok's window ends at midnight: a slot at 23:00 would end its window in year 10000.
        let before = app.counts();
        let r = app.post("/publishing/schedule", &tiktok("9999-12-31T23:00:00Z")).await;
        assert_eq!(r.assert_rejected(422, "no_slot"), beyond);
        assert_eq!(app.counts(), before);
        // A window end of the client's own inside the years is fine.
        let mut within = tiktok("9999-12-31T23:00:00Z");
        within["scheduled_window_end"] = json!("9999-12-31T23:59:59Z");
        let r = app.post("/publishing/schedule", &within).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_scheduled(&r.body, "Scheduled as requested", "9999-12-31T23:00:00Z",
                         "9999-12-31T23:59:59Z");
        let r = app.post("/publishing/schedule", &request("+10000-01-01T18:00:00Z")).await;
        r.assert_rejected(400, "invalid_field");
    }

    async fn the_window_end_is_stored_in_whole_real_seconds(backend) {
        let app = spawn(backend).await;
        setup(&app).await;
        let mut req = request("2099-01-15T20:00:00Z");
        req["scheduled_window_end"] = json!("2099-01-15T23:30:00.5Z");
        let r = app.post("/publishing/schedule", &req).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.body["scheduled_window_end"], "2099-01-15T23:30:00Z");
        let id = r.body["publish_log_id"].as_str().unwrap();
        let log = app.get(&format!("/publishing/logs/{id}")).await;
        assert_eq!(log.body["scheduled_window_end"], "2099-01-15T23:30:00Z");
        let events = app.get(&format!("/ledger/events?entity_id={id}")).await;
        assert_eq!(events.body[0]["metadata"]["scheduled_window_end"], "2099-01-15T23:30:00Z");
        // A leap second that never was (nor could be stored): malformed, nothing written.
        let before = app.counts();
        req["scheduled_window_end"] = json!("2099-01-15T23:30:60Z");
        let reason = app.post("/publishing/schedule", &req).await.assert_rejected(400, "invalid_field");
        assert!(reason.contains("leap second"), "{reason}");
        assert_eq!(app.counts(), before);
    }

    async fn batch_plans_in_order(backend) {
        let app = spawn(backend).await;
        setup(&app).await;
        let r = app.post("/publishing/schedule/batch", &json!({"items": [
            request("2099-01-15T20:00:00Z"),
            request("2099-01-15T20:10:00Z"),
            {"clip_id": "nope", "platform": "instagram", "social_account_id": "acc"},
            {"clip_id": 5},
            request("2099-01-15T20:20:00Z"),
        ]})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body.as_object().unwrap().len(), 1);
        let results = r.body["results"].as_array().unwrap();
        assert_eq!(results.len(), 5);
        assert_scheduled(&results[0], "Scheduled as requested", "2099-01-15T20:00:00Z", "2099-01-15T23:00:00Z");
        assert_scheduled(&results[1], "Adjusted 50min forward to respect 60min gap", "2099-01-15T21:00:00Z", "2099-01-15T23:00:00Z");
        assert_eq!(results[2], json!({"publish_log_id": "", "status": "rejected", "reason": "Clip not found: nope",
                                      "code": "clip_not_found"}));
        assert_eq!(results[3]["status"], "rejected");
        assert_eq!(results[3]["code"], "invalid_field");
        assert_eq!(results[3].as_object().unwrap().len(), 4);
        assert_scheduled(&results[4], "Adjusted 100min forward to respect 60min gap", "2099-01-15T22:00:00Z", "2099-01-15T23:00:00Z");
        assert_eq!(app.counts().logs, 3);

        let r = app.post("/publishing/schedule/batch", &json!({"items": []})).await;
        assert_eq!((r.status.as_u16(), r.body.clone()), (200, json!({"results": []})));
    }

    async fn batch_400_writes_nothing(backend) {
        let app = spawn(backend).await;
        setup(&app).await;
        let before = app.counts();
        app.post("/publishing/schedule/batch", &json!({"items": "no"})).await.assert_error(400, "invalid_field");
        app.post("/publishing/schedule/batch", &json!({})).await.assert_error(400, "invalid_field");
        app.post("/publishing/schedule/batch", &json!([request("2099-01-15T20:00:00Z")])).await.assert_error(400, "invalid_field");
        let many: Vec<Value> = (0..501).map(|_| request("2099-01-15T20:00:00Z")).collect();
        app.post("/publishing/schedule/batch", &json!({"items": many})).await.assert_error(400, "invalid_field");
        app.post_raw("/publishing/schedule/batch", "{{").await.assert_error(400, "malformed_json");
        assert_eq!(app.counts(), before);
    }
}
