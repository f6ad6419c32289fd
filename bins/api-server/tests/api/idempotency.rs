//! Idempotency-Key on the POST endpoints.

use serde_json::json;

use crate::support::{both_backends, spawn};

both_backends! {
    async fn retry_returns_the_first_answer(backend) {
        let app = spawn(backend).await;
        app.account("acc", "instagram", "UTC").await;
        app.clip("clip").await;
        let body = json!({"clip_id": "clip", "platform": "instagram", "social_account_id": "acc",
                          "scheduled_for": "2099-01-15T20:00:00Z"});
        let send = |key: &'static str, body: serde_json::Value| {
            let request = app.request("POST", "/publishing/schedule")
                .header("Idempotency-Key", key).json(&body);
            app.send(request)
        };
        let first = send("k1", body.clone()).await;
        assert_eq!(first.status, 201, "{}", first.text);
        let after_first = app.counts();
        assert_eq!(after_first.keys, 1);
        let retry = send("k1", body.clone()).await;
        assert_eq!((retry.status, &retry.text), (first.status, &first.text));
        assert_eq!(app.counts(), after_first);

        // The same key with another body.
        let mut other = body.clone();
        other["scheduled_for"] = json!("2099-01-16T20:00:00Z");
        let r = send("k1", other).await;
        assert!(r.assert_rejected(422, "idempotency_key_reused").contains("different request body"));
        assert_eq!(app.counts(), after_first);

        // A rejected request stores nothing, its key included.
        let mut bad = body.clone();
        bad["clip_id"] = json!("nope");
        send("k2", bad.clone()).await.assert_rejected(422, "clip_not_found");
        assert_eq!(app.counts(), after_first);
        app.clip("nope").await;
        assert_eq!(send("k2", bad).await.status, 201);

        // A batch whose every item is rejected wrote nothing, so it stores nothing either: the
        // retry after the cause is fixed is planned.
        let lone = json!({"items": [{"clip_id": "later", "platform": "instagram",
                                      "social_account_id": "acc",
                                      "scheduled_for": "2099-02-15T20:00:00Z"}]});
        let batch = || app.request("POST", "/publishing/schedule/batch").header("Idempotency-Key", "k3");
        let before = app.counts();
        let r = app.send(batch().json(&lone)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["results"][0]["status"], "rejected", "{}", r.text);
        assert_eq!(app.counts(), before);
        app.clip("later").await;
        let r = app.send(batch().json(&lone)).await;
        assert_eq!(r.body["results"][0]["status"], "scheduled", "{}", r.text);

        // Accounts, clips and batches.
        for (path, body, other) in [
            ("/accounts", json!({"platform": "tiktok"}), json!({"platform": "youtube"})),
            ("/clips", json!({"title": "t"}), json!({"title": "u"})),
            ("/publishing/schedule/batch", json!({"items": [body.clone()]}), json!({"items": []})),
        ] {
            let req = || app.request("POST", path).header("Idempotency-Key", "same");
            let first = app.send(req().json(&body)).await;
            assert!(first.status.is_success(), "{}", first.text);
            let counts = app.counts();
            let retry = app.send(req().json(&body)).await;
            assert_eq!((retry.status, &retry.text), (first.status, &first.text));
            assert_eq!(app.counts(), counts);
            let r = app.send(req().json(&other)).await;
            r.assert_error(422, "idempotency_key_reused");
        }
        let r = app.send(app.request("POST", "/clips").header("Idempotency-Key", "").json(&json!({}))).await;
        r.assert_error(400, "invalid_field");
    }
}
