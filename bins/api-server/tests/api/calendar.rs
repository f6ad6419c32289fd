//! The calendar feed: an account's posts as RFC 5545 text, opened by its read-only key alone.

use serde_json::json;

use crate::support::{both_backends, spawn_with, TestApp};

/// The unfolded content lines of an iCalendar text (RFC 5545, 3.1), after checking that every
/// line ends with CRLF and none is longer than 75 octets.
fn content_lines(text: &str) -> Vec<String> {
    assert!(text.ends_with("\r\n"), "{text:?}");
    let mut lines: Vec<String> = Vec::new();
    for raw in text.strip_suffix("\r\n").unwrap().split("\r\n") {
        assert!(raw.len() <= 75, "a line over 75 octets: {raw:?}");
        assert!(!raw.contains('\n') && !raw.contains('\r'), "{raw:?}");
        match raw.strip_prefix(' ') {
            Some(rest) => lines.last_mut().expect("a first line").push_str(rest),
            None => lines.push(raw.to_owned()),
        }
    }
    lines
}

/// Each `VEVENT` as its lines.
fn events(text: &str) -> Vec<Vec<String>> {
    let mut events = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in content_lines(text) {
        match line.as_str() {
            "BEGIN:VEVENT" => current = Some(Vec::new()),
            "END:VEVENT" => events.push(current.take().unwrap()),
            _ => {
                if let Some(event) = current.as_mut() {
                    event.push(line);
                }
            }
        }
    }
    events
}

fn value<'a>(event: &'a [String], name: &str) -> &'a str {
    event
        .iter()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .unwrap_or_else(|| panic!("no {name} in {event:?}"))
}

async fn feed(app: &TestApp, path: &str) -> reqwest::Response {
    // No bearer token: the key alone opens the feed.
    app.client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap()
}

both_backends! {
    async fn the_feed_shows_an_accounts_posts_to_its_key_alone(backend) {
        let app = spawn_with(backend, |c| c.api_token = Some("secret-token".into())).await;
        let account = app.account("acc_cal", "instagram", "America/New_York").await;
        let key = account["calendar_key"].as_str().unwrap().to_owned();
        assert!(key.starts_with("cal_") && key.len() == 68, "{key}");
        let r = app.post("/clips", &json!({"id": "clip_cal", "title": "Launch teaser, part 1; the long title that folds across lines"})).await;
        assert_eq!(r.status, 201);
        let mut ids = Vec::new();
        for time in ["2030-06-15T23:00:00Z", "2030-06-16T23:00:00Z", "2030-06-17T23:00:00Z"] {
            let r = app.schedule("clip_cal", "acc_cal", time).await;
            assert_eq!(r.status, 201, "{}", r.text);
            ids.push(r.body["publish_log_id"].as_str().unwrap().to_owned());
        }
        app.account("acc_other", "instagram", "UTC").await;
        assert_eq!(app.schedule("clip_cal", "acc_other", "2030-06-15T23:00:00Z").await.status, 201);

        let path = format!("/accounts/acc_cal/calendar.ics?key={key}");
        let r = feed(&app, &path).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/calendar; charset=utf-8");
        let first = r.text().await.unwrap();
        let lines = content_lines(&first);
        assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
        assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"));
        assert!(lines.contains(&"VERSION:2.0".to_owned()));
        let listed = events(&first);
        assert_eq!(listed.len(), 3, "{first}");
        for (event, id) in listed.iter().zip(&ids) {
            assert_eq!(value(event, "UID"), format!("{id}@publishing-scheduler"));
            assert_eq!(value(event, "SEQUENCE"), "0");
            assert_eq!(value(event, "SUMMARY"), "instagram: Launch teaser\\, part 1\\; the long title that folds across lines");
        }
        assert_eq!(value(&listed[0], "DTSTART"), "20300615T230000Z");
        assert_eq!(value(&listed[0], "DTEND"), "20300615T231500Z");
        assert!(value(&listed[0], "DESCRIPTION").contains("At 19:00 in America/New_York"), "{:?}", listed[0]);

        // Rescheduled: same UID, a higher SEQUENCE; cancelled: gone.
        let r = app.post(&format!("/publishing/logs/{}/reschedule", ids[1]), &json!({"scheduled_for": "2030-06-20T23:30:00Z"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(app.post_raw(&format!("/publishing/logs/{}/cancel", ids[2]), "").await.status, 200);
        let second = feed(&app, &path).await.text().await.unwrap();
        let listed = events(&second);
        assert_eq!(listed.len(), 2, "{second}");
        assert_eq!(value(&listed[0], "UID"), format!("{}@publishing-scheduler", ids[0]));
        assert_eq!(value(&listed[1], "UID"), format!("{}@publishing-scheduler", ids[1]));
        assert_eq!(value(&listed[1], "SEQUENCE"), "1");
        assert_eq!(value(&listed[1], "DTSTART"), "20300620T233000Z");

        // A wrong key, no key, another account's key, an unknown account: one answer, 404.
        let other_key = app.get("/accounts/acc_other").await.body["calendar_key"].as_str().unwrap().to_owned();
        for path in [
            format!("/accounts/acc_cal/calendar.ics?key={}", key.replace('a', "b")),
            "/accounts/acc_cal/calendar.ics".to_owned(),
            format!("/accounts/acc_cal/calendar.ics?key={other_key}"),
            format!("/accounts/acc_nobody/calendar.ics?key={key}"),
        ] {
            let r = feed(&app, &path).await;
            assert_eq!(r.status(), 404, "{path}");
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body, json!({"error": "no calendar feed at this address", "code": "not_found"}));
        }
        // Line breaks in a handle or a title cannot add lines to the feed.
        let r = app.post("/accounts", &json!({"id": "acc_evil", "platform": "instagram", "handle": "x\r\nBEGIN:VEVENT\rUID:evil"})).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let evil_key = r.body["calendar_key"].as_str().unwrap().to_owned();
        assert_eq!(app.post("/clips", &json!({"id": "clip_evil", "title": "a\rEND:VEVENT\r\nBEGIN:VEVENT"})).await.status, 201);
        assert_eq!(app.schedule("clip_evil", "acc_evil", "2030-06-15T23:00:00Z").await.status, 201);
        let r = feed(&app, &format!("/accounts/acc_evil/calendar.ics?key={evil_key}")).await;
        assert_eq!(r.headers()["cache-control"], "private, no-cache");
        let text = r.text().await.unwrap();
        let lines = content_lines(&text);
        assert_eq!(lines.iter().filter(|l| l.starts_with("BEGIN:VEVENT")).count(), 1, "{text}");
        assert!(!lines.iter().any(|l| l.starts_with("UID:evil")), "{text}");
        for name in ["NAME", "X-WR-CALNAME"] {
            assert!(lines.contains(&format!("{name}:x\\nBEGIN:VEVENT\\nUID:evil on instagram")), "{text}");
        }
        let event = &events(&text)[0];
        assert_eq!(value(event, "SUMMARY"), "instagram: a\\nEND:VEVENT\\nBEGIN:VEVENT");
        assert_eq!(value(event, "TRANSP"), "TRANSPARENT");

        // The key opens the feed and nothing else.
        let r = feed(&app, "/accounts/acc_cal").await;
        assert_eq!(r.status(), 401);
    }

    async fn the_pages_feed_gives_a_spans_posts_with_their_local_times(backend) {
        let app = crate::support::spawn(backend).await;
        app.account("acc_ny", "instagram", "America/New_York").await;
        app.account("acc_tt", "tiktok", "Europe/Berlin").await;
        assert_eq!(app.post("/clips", &json!({"id": "clip_t", "title": "Teaser"})).await.status, 201);
        app.clip("clip_u").await;
        let a = app.schedule("clip_t", "acc_ny", "2030-06-15T23:00:00Z").await.body["publish_log_id"].clone();
        let b = app.schedule("clip_u", "acc_ny", "2030-06-16T23:00:00Z").await.body["publish_log_id"].clone();
        let r = app.post("/publishing/schedule", &json!({"clip_id": "clip_t", "platform": "tiktok", "social_account_id": "acc_tt", "scheduled_for": "2030-06-15T15:00:00Z"})).await;
        let c = r.body["publish_log_id"].clone();
        assert_eq!(app.post_raw(&format!("/publishing/logs/{}/cancel", b.as_str().unwrap()), "").await.status, 200);
        // Outside the span.
        assert_eq!(app.schedule("clip_t", "acc_ny", "2030-08-01T23:00:00Z").await.status, 201);

        let span = "start=2030-06-01T00:00:00Z&end=2030-07-01T00:00:00Z";
        let r = app.get(&format!("/calendar/events?{span}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["truncated"], false);
        let events = r.body["events"].as_array().unwrap();
        let ids: Vec<_> = events.iter().map(|e| e["id"].clone()).collect();
        assert_eq!(ids, [c.clone(), a.clone(), b.clone()]);
        assert_eq!(events[1]["title"], "Teaser");
        assert_eq!(events[1]["start"], "2030-06-15T23:00:00Z");
        assert_eq!(events[1]["local_time"], "2030-06-15T19:00:00");
        assert_eq!(events[1]["timezone"], "America/New_York");
        assert_eq!(events[1]["editable"], true);
        assert_eq!(events[2]["title"], "clip_u");
        assert_eq!(events[2]["status"], "cancelled");
        assert_eq!(events[2]["editable"], false);
        assert_eq!(events[0]["local_time"], "2030-06-15T17:00:00");
        for (filter, expected) in [
            ("social_account_id=acc_tt", vec![c.clone()]),
            ("platform=instagram", vec![a.clone(), b.clone()]),
            ("status=scheduled", vec![c.clone(), a.clone()]),
            ("social_account_id=acc_ny&status=cancelled", vec![b.clone()]),
            ("social_account_id=acc_tt,acc_ny", vec![c.clone(), a.clone(), b.clone()]),
            ("social_account_id=acc_tt,acc_none", vec![c.clone()]),
        ] {
            let r = app.get(&format!("/calendar/events?{span}&{filter}")).await;
            let got: Vec<_> = r.body["events"].as_array().unwrap().iter().map(|e| e["id"].clone()).collect();
            assert_eq!(got, expected, "{filter}");
        }
        for (query, status, code) in [
            ("start=2030-06-01T00:00:00Z", 400, "invalid_field"),
            ("start=2030-06-01T00:00:00Z&end=2030-09-01T00:00:00Z", 422, "invalid_field"),
            ("start=2030-06-02T00:00:00Z&end=2030-06-01T00:00:00Z", 422, "invalid_field"),
            ("start=yesterday&end=2030-06-01T00:00:00Z", 400, "invalid_field"),
            ("start=2030-06-01T00:00:00Z&end=2030-07-01T00:00:00Z&status=done", 400, "invalid_field"),
            ("start=2030-06-01T00:00:00Z&end=2030-07-01T00:00:00Z&view=month", 400, "unknown_field"),
            ("start=2030-06-01T00:00:00Z&end=2030-07-01T00:00:00Z&social_account_id=acc_ny,,acc_tt", 400, "invalid_field"),
            ("start=2030-06-01T00:00:00Z&end=2030-07-01T00:00:00Z&social_account_id=acc_ny,", 400, "invalid_field"),
        ] {
            app.get(&format!("/calendar/events?{query}")).await.assert_error(status, code);
        }
    }

    async fn a_new_calendar_key_closes_the_old_ones_feed(backend) {
        let app = crate::support::spawn(backend).await;
        let old = app.account("acc_k", "instagram", "UTC").await["calendar_key"].as_str().unwrap().to_owned();
        assert_eq!(feed(&app, &format!("/accounts/acc_k/calendar.ics?key={old}")).await.status(), 200);
        let r = app.post_raw("/accounts/acc_k/calendar-key", "").await;
        assert_eq!(r.status, 200, "{}", r.text);
        let new = r.body["calendar_key"].as_str().unwrap().to_owned();
        assert!(new.starts_with("cal_") && new.len() == 68 && new != old, "{new}");
        assert_eq!(app.get("/accounts/acc_k").await.body["calendar_key"], json!(new));
        assert_eq!(feed(&app, &format!("/accounts/acc_k/calendar.ics?key={old}")).await.status(), 404);
        assert_eq!(feed(&app, &format!("/accounts/acc_k/calendar.ics?key={new}")).await.status(), 200);
        app.post_raw("/accounts/acc_none/calendar-key", "").await.assert_error(404, "not_found");
        app.post("/accounts/acc_k/calendar-key", &json!({"key": "mine"})).await.assert_error(400, "unknown_field");
    }

    async fn the_page_and_its_assets_need_no_token_and_load_nothing_from_elsewhere(backend) {
        let app = spawn_with(backend, |c| c.api_token = Some("secret-token".into())).await;
        let anonymous = reqwest::Client::builder().no_proxy().build().unwrap();
        for (path, kind) in [
            ("/calendar", "text/html"),
            ("/calendar?date=2030-06-01&view=week&social_account_id=a,b&platform=tiktok&status=scheduled", "text/html"),
            ("/calendar/calendar.js", "text/javascript"),
            ("/calendar/calendar.css", "text/css"),
        ] {
            let r = anonymous.get(format!("{}{path}", app.address)).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            let headers = r.headers().clone();
            assert!(headers["content-type"].to_str().unwrap().starts_with(kind), "{path}");
            let policy = headers["content-security-policy"].to_str().unwrap();
            assert!(policy.contains("default-src 'none'") && policy.contains("script-src 'self'"), "{policy}");
            assert_eq!(headers["x-content-type-options"], "nosniff");
            let body = r.text().await.unwrap();
            assert!(!body.contains("http://") && !body.contains("https://"), "{path} names another origin");
        }
        // The data behind it still needs the token.
        let r = anonymous.get(format!("{}/calendar/events?start=2030-06-01T00:00:00Z&end=2030-06-02T00:00:00Z", app.address)).send().await.unwrap();
        assert_eq!(r.status(), 401);
        let r = anonymous.get(format!("{}/calendar?colour=red", app.address)).send().await.unwrap();
        assert_eq!(r.status(), 400);
    }
}
