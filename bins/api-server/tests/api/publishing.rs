//! The publishing handoff over HTTP: claims, heartbeats and reports fenced by the lease
//! token, a person's confirm and retry, and the metrics they leave.

use serde_json::{json, Value};

use crate::support::{both_backends, spawn, TestApp};

/// An Instagram account `acc`, a clip, and `n` posts made due and moved to `pending` by a
/// tick; their ids, oldest first.
async fn pending(app: &TestApp, n: usize) -> Vec<String> {
    app.account("acc", "instagram", "UTC").await;
    app.clip("clip").await;
    let mut ids = Vec::new();
    for day in 0..n {
        let r = app
            .schedule("clip", "acc", &format!("2099-01-{:02}T20:00:00Z", day + 10))
            .await;
        ids.push(r.body["publish_log_id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        app.make_due(id);
    }
    let r = app.post_raw("/publishing/scheduler/tick", "").await;
    assert_eq!(r.body["moved"], n, "{}", r.text);
    ids
}

async fn claim(app: &TestApp, limit: u32) -> Vec<Value> {
    let r = app
        .post(
            "/publishing/claims",
            &json!({"worker_id": "w1", "limit": limit}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["claims"].as_array().unwrap().clone()
}

fn token(claim: &Value) -> &str {
    claim["lease_token"].as_str().unwrap()
}

both_backends! {
    async fn a_worker_claims_heartbeats_and_completes(backend) {
        let app = spawn(backend).await;
        let ids = pending(&app, 3).await;
        let claims = claim(&app, 2).await;
        assert_eq!(claims.len(), 2);
        for (claim, id) in claims.iter().zip(&ids) {
            assert_eq!(claim["log"]["id"], id.as_str());
            assert_eq!(claim["log"]["status"], "processing");
            assert_eq!((claim["attempt"].as_i64(), claim["log"]["attempt"].as_i64()), (Some(1), Some(1)));
            assert_eq!(claim["log"]["lease_expires_at"], claim["lease_expires_at"]);
            assert!(claim["log"].get("lease_token").is_none(), "the log shows its token");
            // What a publisher needs comes with the claim.
            assert_eq!((&claim["clip"]["id"], &claim["account"]["id"]), (&json!("clip"), &json!("acc")));
            assert_eq!(claim["account"]["timezone"], "UTC");
        }
        let first = &claims[0];
        let path = |what: &str| format!("/publishing/logs/{}/{what}", ids[0]);
        let r = app.post(&path("heartbeat"), &json!({"lease_token": token(first), "lease_seconds": 900})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.body["lease_expires_at"].as_str().unwrap() > first["lease_expires_at"].as_str().unwrap());

        let done = json!({"lease_token": token(first), "platform_post_id": "ig_1",
                          "permalink": "https://instagram.example/p/1", "metrics": {"views": 3}});
        let r = app.post(&path("complete"), &done).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!((&r.body["status"], &r.body["platform_post_id"]), (&json!("published"), &json!("ig_1")));
        assert_eq!(r.body["lease_expires_at"], Value::Null);
        assert_eq!(r.body["metrics"]["views"], 3);
        assert_eq!(r.body["metrics"]["likes"], Value::Null);
        // The lease ended with the report: the same token again changes nothing.
        let before = app.counts();
        app.post(&path("complete"), &done).await.assert_error(409, "lease_lost");
        app.post(&path("heartbeat"), &json!({"lease_token": token(first)})).await.assert_error(409, "lease_lost");
        app.post(&format!("/publishing/logs/{}/complete", ids[1]), &json!({"lease_token": "forged"}))
            .await.assert_error(409, "lease_lost");
        app.post("/publishing/logs/log_nope/complete", &json!({"lease_token": "t"})).await.assert_error(404, "not_found");
        assert_eq!(app.counts(), before);

        let r = app.get(&format!("/ledger/events?entity_id={}", ids[0])).await;
        let types: Vec<&str> = r.body.as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap()).collect();
        assert_eq!(types, ["publish_published", "publish_claimed", "publish_scheduled_enqueued", "publish_scheduled_created"]);
        assert_eq!(claim(&app, 5).await.len(), 1);
        assert!(claim(&app, 5).await.is_empty());
    }

    async fn a_published_posts_engagement_keeps_its_latest_snapshot(backend) {
        let app = spawn(backend).await;
        let ids = pending(&app, 2).await;
        let claims = claim(&app, 1).await;
        let done = json!({"lease_token": token(&claims[0])});
        assert_eq!(app.post(&format!("/publishing/logs/{}/complete", ids[0]), &done).await.status, 200);
        let path = format!("/publishing/logs/{}/metrics", ids[0]);
        let r = app.post(&path, &json!({"views": 1200, "likes": 80, "measured_at": "2026-01-02T10:00:00Z"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["metrics"], json!({"views": 1200, "likes": 80, "comments": null, "shares": null,
                                              "measured_at": "2026-01-02T10:00:00Z"}));
        // An older snapshot changes nothing; a newer one replaces it whole.
        let r = app.post(&path, &json!({"views": 5, "measured_at": "2026-01-01T10:00:00Z"})).await;
        assert_eq!(r.body["metrics"]["views"], 1200);
        let r = app.post(&path, &json!({"views": 5000, "shares": 9})).await;
        assert_eq!(r.body["metrics"]["views"], 5000);
        assert_eq!(r.body["metrics"]["likes"], Value::Null);
        assert_eq!(app.get(&format!("/publishing/logs/{}", ids[0])).await.body["metrics"]["shares"], 9);
        // Refusals change nothing.
        let before = app.counts();
        app.post(&format!("/publishing/logs/{}/metrics", ids[1]), &json!({"views": 1})).await.assert_error(409, "invalid_state");
        app.post("/publishing/logs/log_nope/metrics", &json!({"views": 1})).await.assert_error(404, "not_found");
        app.post(&path, &json!({"views": -1})).await.assert_error(400, "invalid_field");
        app.post(&path, &json!({"reach": 1})).await.assert_error(400, "unknown_field");
        app.post(&path, &json!({"views": 1, "measured_at": "2999-01-01T00:00:00Z"})).await.assert_error(422, "invalid_field");
        assert_eq!(app.counts(), before);
        assert_eq!(app.get(&format!("/publishing/logs/{}", ids[0])).await.body["metrics"]["views"], 5000);
    }

    async fn failures_retry_in_the_window_or_wait_for_a_person(backend) {
        let app = spawn(backend).await;
        let ids = pending(&app, 3).await;
        let claims = claim(&app, 3).await;
        let fail = |i: usize, mut body: Value| {
            body["lease_token"] = claims[i]["lease_token"].clone();
            (format!("/publishing/logs/{}/fail", ids[i]), body)
        };
        let (path, body) = fail(0, json!({"kind": "retryable", "error": "HTTP 503"}));
        let r = app.post(&path, &body).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!((&r.body["status"], &r.body["last_error"]), (&json!("scheduled"), &json!("HTTP 503")));
        let hour: u32 = r.body["scheduled_for"].as_str().unwrap()[11..13].parse().unwrap();
        assert!((18..23).contains(&hour), "{}", r.text);

        let (path, body) = fail(1, json!({"kind": "unknown", "error": "timed out after sending"}));
        let r = app.post(&path, &body).await;
        assert_eq!(r.body["status"], "unconfirmed", "{}", r.text);
        let (path, body) = fail(2, json!({"kind": "permanent", "error": "video too long"}));
        let r = app.post(&path, &body).await;
        assert_eq!(r.body["status"], "failed", "{}", r.text);

        // A person: the unconfirmed one was not published, the failed one is tried again.
        let r = app.post(&format!("/publishing/logs/{}/confirm", ids[1]), &json!({"published": false})).await;
        assert_eq!((&r.body["status"], &r.body["attempt"]), (&json!("scheduled"), &json!(0)), "{}", r.text);
        let r = app.post(&format!("/publishing/logs/{}/retry", ids[2]), &json!({"scheduled_for": "2099-03-01T10:00:00Z"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!((&r.body["status"], &r.body["scheduled_for"]), (&json!("scheduled"), &json!("2099-03-01T18:00:00Z")));
        assert_eq!(r.body["reason"], "Moved to window start 18:00 UTC");
        // Neither is in the state those answers need any more.
        app.post(&format!("/publishing/logs/{}/retry", ids[2]), &json!({})).await.assert_error(409, "invalid_state");
        app.post(&format!("/publishing/logs/{}/confirm", ids[1]), &json!({"published": true}))
            .await.assert_error(409, "invalid_state");

        let text = app.get("/metrics").await.text;
        for (outcome, n) in [("retryable", 1), ("unknown", 1), ("permanent", 1)] {
            let series = format!("scheduler_publish_reports_total{{outcome=\"{outcome}\"}} {n}");
            assert!(text.contains(&series), "{series} in {text}");
        }
        assert!(text.contains("scheduler_claimed_logs_total 3"), "{text}");
    }

    async fn the_tick_ends_expired_leases_and_counts_them(backend) {
        let app = spawn(backend).await;
        let ids = pending(&app, 1).await;
        let claim = claim(&app, 1).await.remove(0);
        // The worker died: its lease ran out.
        app.db.expire_lease(&ids[0]);
        let r = app.post_raw("/publishing/scheduler/tick", "").await;
        assert_eq!((&r.body["leases_expired"], &r.body["expired_log_ids"]), (&json!(1), &json!([ids[0]])), "{}", r.text);
        let log = app.get(&format!("/publishing/logs/{}", ids[0])).await.body;
        assert_eq!((&log["status"], &log["lease_expires_at"]), (&json!("unconfirmed"), &Value::Null));
        app.post(&format!("/publishing/logs/{}/complete", ids[0]), &json!({"lease_token": token(&claim)}))
            .await.assert_error(409, "lease_lost");
        let text = app.get("/metrics").await.text;
        assert!(text.contains("scheduler_lease_expiries_total 1"), "{text}");
    }

    async fn bad_reports_are_refused_and_change_nothing(backend) {
        let app = spawn(backend).await;
        let ids = pending(&app, 1).await;
        let claim = claim(&app, 1).await.remove(0);
        let before = app.counts();
        let fail = format!("/publishing/logs/{}/fail", ids[0]);
        for (path, body, status, code) in [
            ("/publishing/claims", json!({"limit": 1}), 400, "invalid_field"),
            ("/publishing/claims", json!({"worker_id": "w", "limit": 0}), 422, "invalid_field"),
            ("/publishing/claims", json!({"worker_id": "w", "limit": 101}), 422, "invalid_field"),
            ("/publishing/claims", json!({"worker_id": "w", "lease_seconds": 5}), 422, "invalid_field"),
            ("/publishing/claims", json!({"worker_id": "w", "platforms": ["myspace"]}), 422, "unknown_platform"),
            ("/publishing/claims", json!({"worker_id": "w", "workerid": "x"}), 400, "unknown_field"),
            (fail.as_str(), json!({"lease_token": token(&claim), "kind": "flaky", "error": "x"}), 400, "invalid_field"),
            (fail.as_str(), json!({"lease_token": token(&claim), "kind": "rate_limited", "error": "x",
                                   "retry_after": 10_000_000}), 422, "invalid_field"),
            (fail.as_str(), json!({"lease_token": token(&claim), "kind": "permanent"}), 400, "invalid_field"),
        ] {
            let r = app.post(path, &body).await;
            r.assert_error(status, code);
        }
        assert_eq!(app.counts(), before);
        assert_eq!(app.get(&format!("/publishing/logs/{}", ids[0])).await.body["status"], "processing");
        // The claims' filter reads platforms as requests do.
        let r = app.post("/publishing/claims", &json!({"worker_id": "w", "platforms": ["TikTok"]})).await;
        assert_eq!(r.body, json!({"claims": []}));
    }
}
