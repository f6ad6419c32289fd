//! GET /ledger/events and GET /healthz.

use serde_json::json;

use crate::support::{assert_instant, both_backends, spawn};

both_backends! {
    async fn events_newest_first_with_filters(backend) {
        let app = spawn(backend).await;
        app.account("acc", "instagram", "UTC").await;
        app.clip("clip").await;
        let a = app.schedule("clip", "acc", "2099-01-15T20:00:00Z").await.body["publish_log_id"].as_str().unwrap().to_owned();
        let b = app.schedule("clip", "acc", "2099-01-15T20:30:00Z").await.body["publish_log_id"].as_str().unwrap().to_owned();

        let r = app.get("/ledger/events").await;
        assert_eq!(r.status, 200, "{}", r.text);
        let events = r.body.as_array().unwrap();
        let kinds: Vec<(&str, &str)> = events
            .iter()
            .map(|e| (e["event_type"].as_str().unwrap(), e["entity_id"].as_str().unwrap()))
            .collect();
        assert_eq!(kinds, [
            ("publish_scheduled_adjusted", b.as_str()),
            ("publish_scheduled_created", b.as_str()),
            ("publish_scheduled_created", a.as_str()),
        ]);
        let adjusted = &events[0];
        assert!(adjusted["id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(adjusted["entity_type"], "publish_log");
        assert_instant(&adjusted["created_at"]);
        assert_eq!(adjusted.as_object().unwrap().len(), 6);
        assert_eq!(adjusted["metadata"], json!({
            "clip_id": "clip", "platform": "instagram",
            "original_time": "2099-01-15T20:30:00Z", "adjusted_time": "2099-01-15T21:00:00Z",
            "reason": "Adjusted 30min forward to respect 60min gap",
        }));
        assert_eq!(events[2]["metadata"], json!({
            "clip_id": "clip", "platform": "instagram", "social_account_id": "acc",
            "scheduled_for": "2099-01-15T20:00:00Z", "requested_for": "2099-01-15T20:00:00Z",
            "scheduled_window_end": "2099-01-15T23:00:00Z", "scheduled_by": "manual",
            "status": "scheduled",
        }));

        let r = app.get(&format!("/ledger/events?entity_id={a}")).await;
        assert_eq!(r.body.as_array().unwrap().len(), 1);
        let r = app.get("/ledger/events?event_type=publish_scheduled_created&limit=1").await;
        let list = r.body.as_array().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["entity_id"], b.as_str());
        assert_eq!(app.get("/ledger/events?limit=1000&entity_id=none").await.body, json!([]));
        // The contract's literal form, empty fields as a form sends them: no filter, limit 100.
        let r = app.get("/ledger/events?entity_id=&event_type=&limit=").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body.as_array().unwrap().len(), 3);
        for bad in ["limit=0", "limit=1001", "limit=abc", "limit=-1", "entity_id=%00"] {
            app.get(&format!("/ledger/events?{bad}")).await.assert_error(400, "invalid_field");
        }
    }

    async fn healthz(backend) {
        let app = spawn(backend).await;
        let r = app.get("/healthz").await;
        assert_eq!((r.status.as_u16(), r.body), (200, json!({"status": "ok"})));
    }
}

#[tokio::test]
async fn healthz_503_and_database_unavailable_when_postgres_goes_away() {
    if !crate::support::postgres_configured() {
        return;
    }
    let mut app = crate::support::spawn_with(crate::support::Backend::Postgres, |c| {
        c.db_timeout = 1;
    })
    .await;
    assert_eq!(app.get("/healthz").await.status, 200);
    app.drop_database();
    let r = app.get("/healthz").await;
    r.assert_error(503, "unavailable");
    assert_eq!(
        r.body,
        json!({"error": "database unavailable", "code": "unavailable"})
    );
    let r = app.get("/clips/c").await;
    r.assert_error(503, "unavailable");
    assert_eq!(
        r.body,
        json!({"error": "database unavailable", "code": "unavailable"})
    );
    let r = app
        .post(
            "/publishing/schedule",
            &json!({"clip_id": "c", "platform": "instagram",
        "social_account_id": "a"}),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
}
