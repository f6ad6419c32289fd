//! The best time to post over HTTP (contract section 13): an account whose Thursday 22:00
//! posts had ten times the views of its 19:00 ones is offered Thursday 22:00 first, and
//! `strategy: "best"` takes it.

use chrono::{DateTime, Datelike, NaiveTime, TimeDelta, Utc, Weekday};
use serde_json::{json, Value};

use crate::support::{both_backends, spawn, TestApp};

/// The last four Thursdays before today (UTC) at `hour`:00.
fn past_thursdays(hour: u32) -> Vec<DateTime<Utc>> {
    let today = Utc::now().date_naive();
    let back =
        (today.weekday().num_days_from_monday() + 7 - Weekday::Thu.num_days_from_monday()) % 7;
    let last = today - TimeDelta::days(i64::from(if back == 0 { 7 } else { back }));
    (0..4)
        .map(|week| {
            (last - TimeDelta::weeks(week))
                .and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap())
                .and_utc()
        })
        .collect()
}

/// The next two Thursday slots in the hour 22:00–22:59 UTC from now.
fn next_thursday_22s() -> Vec<DateTime<Utc>> {
    let now = Utc::now();
    (0..15)
        .flat_map(|d| {
            let day = now.date_naive() + TimeDelta::days(d);
            [0, 30].map(|m| {
                day.and_time(NaiveTime::from_hms_opt(22, m, 0).unwrap())
                    .and_utc()
            })
        })
        .filter(|t| t.weekday() == Weekday::Thu && *t >= now)
        .take(2)
        .collect()
}

/// Publishes posts at `times` on `acc` through a worker, each with its views.
async fn history(app: &TestApp, posts: &[(DateTime<Utc>, u64)]) {
    let mut ids = Vec::new();
    for (day, (at, _)) in posts.iter().enumerate() {
        // Scheduled ahead, then moved to the past: the planner only schedules ahead.
        let r = app
            .schedule("clip", "acc", &format!("2099-01-{:02}T20:00:00Z", day + 1))
            .await;
        let id = r.body["publish_log_id"].as_str().unwrap().to_owned();
        app.move_to(&id, *at);
        ids.push(id);
    }
    let r = app.post_raw("/publishing/scheduler/tick", "").await;
    assert_eq!(r.body["moved"], posts.len(), "{}", r.text);
    let r = app
        .post(
            "/publishing/claims",
            &json!({"worker_id": "w1", "limit": posts.len()}),
        )
        .await;
    for claim in r.body["claims"].as_array().unwrap() {
        let id = claim["log"]["id"].as_str().unwrap();
        let views = posts[ids.iter().position(|i| i == id).unwrap()].1;
        let done = json!({"lease_token": claim["lease_token"], "platform_post_id": "p", "metrics": {"views": views}});
        let r = app
            .post(&format!("/publishing/logs/{id}/complete"), &done)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

both_backends! {
    async fn the_best_hour_is_suggested_first_and_strategy_best_takes_it(backend) {
        let app = spawn(backend).await;
        app.account("acc", "instagram", "UTC").await;
        app.clip("clip").await;
        let posts: Vec<(DateTime<Utc>, u64)> = past_thursdays(19).into_iter().map(|t| (t, 1_000))
            .chain(past_thursdays(22).into_iter().map(|t| (t, 10_000))).collect();
        history(&app, &posts).await;

        // The server reads its own clock: a request that straddles one of the slots expects
        // the slots as they stood after it.
        let before = next_thursday_22s();
        let r = app.get("/accounts/acc/suggestions?count=2").await;
        assert_eq!(r.status, 200, "{}", r.text);
        let after = next_thursday_22s();
        let best = if r.body["suggestions"][0]["scheduled_for"] == scheduler_core::rfc3339(before[0]) { before } else { after };
        let first = &r.body["suggestions"][0];
        assert_eq!(first["scheduled_for"], scheduler_core::rfc3339(best[0]), "{}", r.text);
        assert_eq!(first["local_time"], best[0].format("%Y-%m-%dT%H:%M:%S").to_string());
        assert_eq!((first["score"].as_f64(), &first["basis"]), (Some(1.0), &json!("history")));
        assert_eq!(r.body["suggestions"][1]["scheduled_for"], scheduler_core::rfc3339(best[1]));
        assert_eq!(r.body["timezone"], "UTC");
        assert_eq!(r.body["suggestions"].as_array().unwrap().len(), 2);

        let r = app.post("/publishing/schedule", &json!({"clip_id": "clip", "platform": "instagram",
            "social_account_id": "acc", "strategy": "Best", "within_days": 7.0})).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let taken = next_thursday_22s();
        assert!([&best[0], &taken[0]].map(|t| scheduler_core::rfc3339(*t)).contains(&r.body["scheduled_for"].as_str().unwrap().to_owned()), "{}", r.text);
        assert_eq!(r.body["reason"], "Best slot by engagement history (score 1.00)");
        // Taken: the next suggestion is elsewhere.
        let taken = r.body["scheduled_for"].clone();
        let r = app.get("/accounts/acc/suggestions?count=1&platform=instagram&days=31").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_ne!(r.body["suggestions"][0]["scheduled_for"], taken);
    }

    async fn suggestions_and_best_refuse_bad_input_and_change_nothing(backend) {
        let app = spawn(backend).await;
        app.account("acc", "instagram", "UTC").await;
        app.account("tik", "tiktok", "UTC").await;
        app.clip("clip").await;
        // Without history: the window's middle, by default.
        let r = app.get("/accounts/tik/suggestions?days=1&count=50").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.body["suggestions"].as_array().unwrap().iter().all(|s| s["basis"] == "default"));

        app.get("/accounts/nope/suggestions").await.assert_error(404, "not_found");
        app.get("/accounts/acc/suggestions?platform=tiktok").await.assert_error(422, "platform_mismatch");
        app.get("/accounts/acc/suggestions?platform=myspace").await.assert_error(422, "unknown_platform");
        app.get("/accounts/acc/suggestions?from=2020-01-01T00:00:00Z&days=1").await.assert_error(422, "past_time");
        app.get("/accounts/acc/suggestions?from=1900-01-01T00:00:00Z").await.assert_error(422, "out_of_range");
        app.get("/accounts/acc/suggestions?from=%2B262143-12-31T23:59:59Z&days=31").await.assert_error(400, "invalid_field");
        // The last days of the supported years: the span ends with them.
        let r = app.get("/accounts/acc/suggestions?from=9999-12-30T00:00:00Z&days=31&count=50").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.body["suggestions"].as_array().unwrap().iter().all(|s| s["scheduled_for"].as_str().unwrap().starts_with("9999-12-3")), "{}", r.text);
        for query in ["days=0", "days=32", "count=0", "count=51", "count=two", "from=tomorrow"] {
            app.get(&format!("/accounts/acc/suggestions?{query}")).await.assert_error(400, "invalid_field");
        }
        app.get("/accounts/acc/suggestions?dayz=1").await.assert_error(400, "unknown_field");

        let body = |extra: Value| {
            let mut b = json!({"clip_id": "clip", "platform": "instagram", "social_account_id": "acc"});
            b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            b
        };
        let before = app.counts();
        for (extra, status, code) in [
            (json!({"strategy": "worst"}), 422, "invalid_field"),
            (json!({"strategy": "best", "within_days": 0}), 422, "invalid_field"),
            (json!({"strategy": "best", "within_days": 32}), 422, "invalid_field"),
            (json!({"strategy": "best", "within_days": 4294967296u64}), 400, "invalid_field"),
            (json!({"within_days": 3}), 422, "invalid_field"),
            (json!({"strategy": "best", "within_days": "7"}), 400, "invalid_field"),
            (json!({"strategy": 1}), 400, "invalid_field"),
            (json!({"strategy": "best", "scheduled_for": "2020-01-01T00:00:00Z"}), 422, "past_time"),
            (json!({"strategy": "best", "scheduled_for": "2099-01-01T00:00:00Z", "scheduled_window_end": "2099-01-01T12:00:00Z"}), 422, "no_slot"),
        ] {
            let r = app.post("/publishing/schedule", &body(extra.clone())).await;
            eprintln!("{extra}");
            r.assert_rejected(status, code);
        }
        assert_eq!(app.counts(), before);
        // The default strategy named.
        let r = app.post("/publishing/schedule", &body(json!({"strategy": "earliest", "scheduled_for": "2099-01-01T19:00:00Z"}))).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.body["scheduled_for"], "2099-01-01T19:00:00Z");
        // A batch item may ask for the best slot too.
        let r = app.post("/publishing/schedule/batch", &json!({"items": [body(json!({"strategy": "best", "scheduled_for": "2099-02-01T00:00:00Z", "within_days": 1}))]})).await;
        assert_eq!(r.body["results"][0]["reason"], "Best slot by platform default", "{}", r.text);
        assert_eq!(r.body["results"][0]["scheduled_for"], "2099-02-01T20:00:00Z");
    }
}
