//! `GET /metrics`: the series a Prometheus scrape reads, with the same auth as the rest.

use serde_json::json;

use crate::support::{both_backends, spawn_with, Backend};

/// The value of the series written exactly `series` (name and labels), or `None`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

both_backends! {
    async fn a_scrape_shows_requests_outcomes_ticks_and_the_backlog(backend) {
        let mut app = spawn_with(backend, |c| c.api_token = Some("t0ken".into())).await;
        app.account("acc", "instagram", "UTC").await;
        app.clip("clip").await;
        let post = |time: &str| json!({"clip_id": "clip", "platform": "instagram",
                                        "social_account_id": "acc", "scheduled_for": time});
        let keyed = |body: &serde_json::Value| app.request("POST", "/publishing/schedule")
            .header("Idempotency-Key", "k1").json(body);
        let asked = app.send(keyed(&post("2099-01-15T20:00:00Z"))).await;
        // A replay decides nothing: not counted again.
        assert_eq!(app.send(keyed(&post("2099-01-15T20:00:00Z"))).await.text, asked.text);
        let moved = app.post("/publishing/schedule", &post("2099-01-15T20:10:00Z")).await;
        app.post("/publishing/schedule", &json!({"clip_id": "nope", "platform": "instagram",
                                                  "social_account_id": "acc"})).await;
        let r = app.post("/publishing/schedule/batch", &json!({"items": [post("2099-01-16T20:00:00Z"),
                                                                         {"clip_id": 5}]})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let ids: Vec<String> = [&asked, &moved].iter().map(|r| r.body["publish_log_id"].as_str().unwrap().to_owned()).collect();
        app.get(&format!("/publishing/logs/{}", ids[0])).await;
        app.get("/publishing/logs/log_nope").await;
        // Made-up methods share one label: a client cannot add series.
        for method in ["FOOBAR1", "FOOBAR2", "BREW"] {
            app.send(app.request(method, "/clips/clip")).await;
        }
        for id in &ids {
            app.make_due(id);
        }

        let text = app.get("/metrics").await;
        assert_eq!(text.status, 200, "{}", text.text);
        assert_eq!(text.content_type(), "application/openmetrics-text; version=1.0.0; charset=utf-8");
        let text = text.text;
        assert!(text.ends_with("# EOF\n"), "{text}");
        let outcome = |o: &str, code: &str| value(&text, &format!("scheduler_schedule_outcomes_total{{outcome=\"{o}\",code=\"{code}\"}}"));
        assert_eq!(outcome("scheduled", ""), Some(2.0));
        assert_eq!(outcome("adjusted", ""), Some(1.0));
        assert_eq!(outcome("rejected", "clip_not_found"), Some(1.0));
        assert_eq!(outcome("rejected", "invalid_field"), Some(1.0));
        // Routes by pattern, never by id.
        let requests = |route: &str, method: &str, status: u16| value(&text, &format!(
            "scheduler_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}}"));
        // Three answers (the replay is one), two posts.
        assert_eq!(requests("/publishing/schedule", "POST", 201), Some(3.0));
        assert_eq!(requests("/publishing/logs/{id}", "GET", 200), Some(1.0));
        assert_eq!(requests("/publishing/logs/{id}", "GET", 404), Some(1.0));
        assert!(!text.contains(&ids[0]), "a series named a log");
        assert_eq!(requests("/clips/{id}", "other", 405), Some(3.0));
        assert!(!text.contains("FOOBAR"), "a series named a made-up method");
        assert_eq!(value(&text, "scheduler_http_request_duration_seconds_count{route=\"/publishing/schedule\",method=\"POST\",status=\"201\"}"), Some(3.0));
        assert_eq!(value(&text, "scheduler_database_up"), Some(1.0));
        assert_eq!(value(&text, "scheduler_due_backlog"), Some(2.0));
        assert!(value(&text, "scheduler_due_oldest_age_seconds").unwrap() > 365.0 * 86_400.0);
        assert_eq!(value(&text, "scheduler_pending_logs"), Some(0.0));

        let r = app.post_raw("/publishing/scheduler/tick", "").await;
        assert_eq!(r.body["moved"], 2, "{}", r.text);
        let text = app.get("/metrics").await.text;
        assert_eq!(value(&text, "scheduler_tick_moved_logs_total"), Some(2.0));
        assert_eq!(value(&text, "scheduler_tick_lateness_seconds_count"), Some(1.0));
        assert_eq!(value(&text, "scheduler_series_occurrences_made_total"), Some(0.0));
        assert_eq!(value(&text, "scheduler_due_backlog"), Some(0.0));
        assert_eq!(value(&text, "scheduler_due_oldest_age_seconds"), Some(0.0));
        assert_eq!(value(&text, "scheduler_pending_logs"), Some(2.0));
        assert!(value(&text, "scheduler_pending_oldest_age_seconds").unwrap() > 365.0 * 86_400.0);
        // The metrics route counts itself too.
        assert_eq!(requests_in(&text, "/metrics"), Some(1.0));

        // Same auth as every route but the health check.
        app.token = None;
        app.get("/metrics").await.assert_error(401, "unauthorized");
    }
}

fn requests_in(text: &str, route: &str) -> Option<f64> {
    value(
        text,
        &format!(
            "scheduler_http_requests_total{{route=\"{route}\",method=\"GET\",status=\"200\"}}"
        ),
    )
}

/// With the database gone the scrape still answers: the counters, and `database_up` 0.
#[tokio::test]
async fn a_scrape_without_the_database_says_so() {
    if !crate::support::postgres_configured() {
        return;
    }
    let mut app = spawn_with(Backend::Postgres, |c| c.db_timeout = 1).await;
    assert_eq!(app.get("/healthz").await.status, 200);
    app.drop_database();
    let r = app.get("/metrics").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(value(&r.text, "scheduler_database_up"), Some(0.0));
    for unknown in [
        "scheduler_due_backlog",
        "scheduler_due_oldest_age_seconds",
        "scheduler_pending_logs",
        "scheduler_pending_oldest_age_seconds",
    ] {
        assert_eq!(
            value(&r.text, unknown).map(f64::is_nan),
            Some(true),
            "{unknown}"
        );
    }
    assert_eq!(
        value(
            &r.text,
            "scheduler_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"}"
        ),
        Some(1.0)
    );
}
