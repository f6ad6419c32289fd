//! `GET /publishing/logs` and `GET /ledger/feed`: filters, pages, cursors.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::support::{both_backends, spawn, TestApp};

async fn post(app: &TestApp, account: &str, platform: &str, time: &str) -> String {
    let r = app.post("/publishing/schedule", &json!({"clip_id": "clip", "platform": platform,
                                                     "social_account_id": account, "scheduled_for": time})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["publish_log_id"].as_str().unwrap().to_owned()
}

/// Follows `next_cursor` from `path` (which has a query string); every id, and how many pages.
async fn all_pages(app: &TestApp, path: &str) -> (Vec<String>, usize) {
    let (mut ids, mut pages, mut url) = (Vec::new(), 0, path.to_owned());
    loop {
        let r = app.get(&url).await;
        assert_eq!(r.status, 200, "{url}: {}", r.text);
        assert_eq!(r.body.as_object().unwrap().len(), 2, "{}", r.text);
        pages += 1;
        ids.extend(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["id"].as_str().unwrap().to_owned()),
        );
        match &r.body["next_cursor"] {
            Value::Null => return (ids, pages),
            Value::String(next) => url = format!("{path}&cursor={next}"),
            other => panic!("next_cursor {other}"),
        }
    }
}

both_backends! {
    async fn logs_are_listed_by_time_with_filters_and_cursors(backend) {
        let app = spawn(backend).await;
        app.account("insta", "instagram", "UTC").await;
        app.account("tt", "tiktok", "UTC").await;
        app.clip("clip").await;
        let a = post(&app, "insta", "instagram", "2099-01-15T19:00:00Z").await;
        let b = post(&app, "tt", "tiktok", "2099-01-15T19:00:00Z").await;
        let c = post(&app, "insta", "instagram", "2099-01-15T21:00:00Z").await;
        let d = post(&app, "tt", "tiktok", "2099-01-16T20:00:00Z").await;
        app.post_raw(&format!("/publishing/logs/{c}/cancel"), "").await;
        let same_second: Vec<String> = { let mut v = vec![a.clone(), b.clone()]; v.sort(); v };

        let (ids, pages) = all_pages(&app, "/publishing/logs?limit=1").await;
        assert_eq!(ids, [same_second.clone(), vec![c.clone(), d.clone()]].concat());
        assert_eq!(pages, 4);
        let r = app.get("/publishing/logs").await;
        assert_eq!(r.body["next_cursor"], Value::Null);
        assert_eq!(r.body["items"][2]["status"], "cancelled");
        assert_eq!(r.body["items"][2]["scheduled_for"], "2099-01-15T21:00:00Z");

        for (query, expected) in [
            ("social_account_id=tt", vec![&b, &d]),
            ("platform=Instagram", vec![&a, &c]),
            ("status=cancelled", vec![&c]),
            ("from=2099-01-15T21:00:00Z&to=2099-01-16T20:00:00Z", vec![&c]),
            ("from=2099-01-15T20:00:00%2B01:00", vec![&a, &b, &c, &d]),
            ("social_account_id=insta&status=scheduled&platform=instagram", vec![&a]),
            ("social_account_id=&platform=&status=&limit=", vec![&a, &b, &c, &d]),
            ("social_account_id=nobody", vec![]),
        ] {
            let (ids, _) = all_pages(&app, &format!("/publishing/logs?{query}")).await;
            let want: HashSet<&String> = expected.into_iter().collect();
            assert_eq!(ids.iter().collect::<HashSet<_>>(), want, "{query}");
        }
        for (query, code) in [
            ("limit=0", "invalid_field"), ("limit=501", "invalid_field"), ("status=done", "invalid_field"),
            ("platform=myspace", "invalid_field"), ("from=yesterday", "invalid_field"),
            ("cursor=nonsense", "invalid_field"), ("cursor=1.zz", "invalid_field"),
            ("series=s1", "unknown_field"), ("offset=2", "unknown_field"),
        ] {
            app.get(&format!("/publishing/logs?{query}")).await.assert_error(400, code);
        }
        app.get("/publishing/logs?to=0100-01-01T00:00:00Z").await.assert_error(422, "out_of_range");
    }

    async fn the_feed_gives_each_event_once_oldest_first(backend) {
        let app = spawn(backend).await;
        app.account("acc", "instagram", "UTC").await;
        app.clip("clip").await;
        let r = app.get("/ledger/feed").await;
        assert_eq!(r.body, json!({"events": [], "next": "0.0"}));
        let first = post(&app, "acc", "instagram", "2099-01-15T19:00:00Z").await;
        let second = post(&app, "acc", "instagram", "2099-01-15T19:30:00Z").await;
        // Pages of one, following `next`; on PostgreSQL an event may take a moment to appear
        // (the feed waits for older transactions of the whole server, other tests' included).
        let mut next = "0.0".to_owned();
        let mut seen: Vec<(String, String)> = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while seen.len() < 3 && std::time::Instant::now() < deadline {
            let r = app.get(&format!("/ledger/feed?limit=1&after={next}")).await;
            assert_eq!(r.status, 200, "{}", r.text);
            let events = r.body["events"].as_array().unwrap();
            assert!(events.len() <= 1);
            if events.is_empty() {
                assert_eq!(r.body["next"], next.as_str(), "an empty page keeps the cursor");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            seen.extend(events.iter().map(|e| (e["entity_id"].as_str().unwrap().to_owned(),
                                                e["event_type"].as_str().unwrap().to_owned())));
            next = r.body["next"].as_str().unwrap().to_owned();
        }
        assert_eq!(seen, [(first.clone(), "publish_scheduled_created".to_owned()),
                          (second.clone(), "publish_scheduled_created".to_owned()),
                          (second.clone(), "publish_scheduled_adjusted".to_owned())]);
        let r = app.get(&format!("/ledger/feed?after={next}")).await;
        assert_eq!(r.body, json!({"events": [], "next": next}));
        for (query, code) in [("after=nonsense", "invalid_field"), ("after=1", "invalid_field"),
                              ("after=-1.2", "invalid_field"), ("limit=1001", "invalid_field"),
                              ("from=0", "unknown_field")] {
            app.get(&format!("/ledger/feed?{query}")).await.assert_error(400, code);
        }
    }
}
