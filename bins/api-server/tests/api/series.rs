//! Recurring series over HTTP: made with their occurrences at local times, previewed, listed,
//! changed and cancelled, and what is refused.

use std::io::Write;

use chrono::{NaiveDateTime, TimeDelta, Utc};
use serde_json::{json, Value};

use crate::support::{assert_instant, both_backends, spawn_with, TestApp};

/// A server whose series are made a year ahead.
async fn spawn_year_ahead(backend: crate::support::Backend) -> (TestApp, tempfile::NamedTempFile) {
    let mut rules = tempfile::NamedTempFile::new().unwrap();
    writeln!(rules, "series_horizon_days = 365").unwrap();
    let path = rules.path().to_owned();
    let app = spawn_with(backend, |c| c.rules = Some(path)).await;
    (app, rules)
}

/// Tomorrow (UTC) at `time`, as a local date-time.
fn tomorrow_at(time: &str) -> String {
    format!("{}T{time}", (Utc::now() + TimeDelta::days(1)).date_naive())
}

async fn series_logs(app: &TestApp, series_id: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/publishing/logs?series_id={series_id}&limit=500"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().clone()
}

both_backends! {
    async fn a_weekly_series_in_new_york_posts_at_18_30_local_in_winter_and_summer(backend) {
        let (app, _rules) = spawn_year_ahead(backend).await;
        app.account("acc_ny", "instagram", "America/New_York").await;
        app.clip("clip_a").await;
        let body = json!({"clip_id": "clip_a", "social_account_id": "acc_ny", "platform": "instagram",
                          "dtstart": tomorrow_at("18:30:00"), "rrule": "RRULE:FREQ=WEEKLY"});
        let r = app.post("/publishing/series", &body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.body["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("ser_"), "{id}");
        assert_eq!(r.headers["location"].to_str().unwrap(), format!("/publishing/series/{id}"));
        assert_eq!(r.body["rrule"], "FREQ=WEEKLY");
        assert_eq!(r.body["timezone"], "America/New_York");
        assert_eq!(r.body["status"], "active");
        let next = r.body["next_occurrences"].as_array().unwrap();
        assert_eq!(next.len(), 10);
        for o in next {
            assert_instant(&o["occurrence_at"]);
            assert_eq!(o["scheduled_for"], o["occurrence_at"]);
            assert_eq!(o["reason"], "Scheduled as requested");
            assert_eq!(o["status"], "scheduled");
        }
        // A year of Mondays (or whichever day), each at 18:30 in New York: some in winter
        // (23:30Z), some in summer (22:30Z).
        let logs = series_logs(&app, &id).await;
        assert!((52..=53).contains(&logs.len()), "{}", logs.len());
        let new_york = scheduler_core::Zone::parse("America/New_York").unwrap();
        let mut utc_times = std::collections::BTreeSet::new();
        for log in &logs {
            assert_eq!(log["series_id"], id.as_str());
            let at = chrono::DateTime::parse_from_rfc3339(log["scheduled_for"].as_str().unwrap()).unwrap().to_utc();
            assert_eq!(new_york.local(at).format("%H:%M").to_string(), "18:30", "{log}");
            utc_times.insert(at.format("%H:%M").to_string());
        }
        assert_eq!(utc_times.into_iter().collect::<Vec<_>>(), ["22:30", "23:30"]);
        // The series and each occurrence are in the ledger.
        let r = app.get(&format!("/ledger/events?entity_id={id}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let events = r.body.as_array().unwrap();
        assert_eq!(events.len(), 1, "{}", r.text);
        assert_eq!(events[0]["event_type"], "series_created");
        assert_eq!(events[0]["entity_type"], "publish_series");
        assert_eq!(events[0]["metadata"]["rrule"], "FREQ=WEEKLY");
        let log_id = logs[0]["id"].as_str().unwrap();
        let r = app.get(&format!("/ledger/events?entity_id={log_id}")).await;
        let created = &r.body.as_array().unwrap()[0];
        assert_eq!(created["metadata"]["series_id"], id.as_str());
        assert_eq!(created["metadata"]["occurrence"], tomorrow_at("18:30:00"));
    }

    async fn a_dry_run_answers_the_same_and_writes_nothing(backend) {
        let (app, _rules) = spawn_year_ahead(backend).await;
        app.account("acc_syd", "instagram", "Australia/Sydney").await;
        app.clip("clip_a").await;
        let body = json!({"clip_id": "clip_a", "social_account_id": "acc_syd", "platform": "instagram",
                          "dtstart": tomorrow_at("19:00:00"), "rrule": "FREQ=MONTHLY;BYDAY=-1FR;COUNT=6",
                          "scheduled_by": "campaign_orchestrator"});
        let before = app.counts();
        let dry = app.post("/publishing/series?dry_run=true", &body).await;
        assert_eq!(dry.status, 200, "{}", dry.text);
        assert_eq!(app.counts(), before);
        assert!(dry.headers.get("location").is_none());
        let made = app.post("/publishing/series", &body).await;
        assert_eq!(made.status, 201, "{}", made.text);
        let shown = |v: &Value| v["next_occurrences"].as_array().unwrap().iter()
            .map(|o| (o["occurrence"].clone(), o["scheduled_for"].clone(), o["reason"].clone()))
            .collect::<Vec<_>>();
        assert_eq!(shown(&dry.body), shown(&made.body));
        assert_eq!(dry.body["next_occurrences"][0]["publish_log_id"], Value::Null);
        assert!(made.body["next_occurrences"][0]["publish_log_id"].is_string());
        assert_eq!(made.body["scheduled_by"], "campaign_orchestrator");
        // COUNT=6: the first occurrence (dtstart) and five last Fridays at 19:00 in Sydney.
        let occurrences: Vec<String> = made.body["next_occurrences"].as_array().unwrap().iter()
            .map(|o| o["occurrence"].as_str().unwrap().to_owned()).collect();
        assert_eq!(occurrences.len(), 6);
        for o in &occurrences[1..] {
            let day = NaiveDateTime::parse_from_str(o, "%Y-%m-%dT%H:%M:%S").unwrap();
            assert_eq!(day.format("%a %H:%M").to_string(), "Fri 19:00", "{o}");
            assert!((day.date() + TimeDelta::days(7)).format("%m").to_string() != day.format("%m").to_string(), "{o} is the last Friday");
        }
        assert_eq!(series_logs(&app, made.body["id"].as_str().unwrap()).await.len(), 6);
    }

    async fn series_are_read_listed_changed_and_cancelled(backend) {
        let (app, _rules) = spawn_year_ahead(backend).await;
        app.account("acc_u", "instagram", "UTC").await;
        app.account("acc_v", "instagram", "UTC").await;
        app.clip("clip_a").await;
        let mut ids = Vec::new();
        for (account, priority) in [("acc_u", "normal"), ("acc_v", "high"), ("acc_u", "low")] {
            let r = app.post("/publishing/series", &json!({"clip_id": "clip_a", "social_account_id": account,
                "platform": "instagram", "dtstart": tomorrow_at("19:00:00"), "rrule": "FREQ=DAILY;COUNT=4",
                "priority": priority})).await;
            assert_eq!(r.status, 201, "{}", r.text);
            assert_eq!(r.body["priority"], priority);
            let id = r.body["id"].as_str().unwrap().to_owned();
            // Its occurrences have its priority.
            let logs = series_logs(&app, &id).await;
            assert_eq!(logs.len(), 4);
            assert!(logs.iter().all(|l| l["priority"] == priority), "{logs:?}");
            ids.push(id);
        }
        // The second series on acc_u is planned around the first: an hour later.
        let r = app.get(&format!("/publishing/series/{}", ids[2])).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["next_occurrences"][0]["reason"], "Adjusted 60min forward to respect 60min gap");
        // Listed by account, a page at a time.
        let r = app.get("/publishing/series?social_account_id=acc_u&limit=1").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["items"][0]["id"], ids[0].as_str());
        let cursor = r.body["next_cursor"].as_str().unwrap().to_owned();
        let r = app.get(&format!("/publishing/series?social_account_id=acc_u&limit=1&cursor={cursor}")).await;
        assert_eq!(r.body["items"][0]["id"], ids[2].as_str());
        assert_eq!(r.body["next_cursor"], Value::Null);
        let r = app.get("/publishing/series").await;
        assert_eq!(r.body["items"].as_array().unwrap().len(), 3);

        // Every second day instead: the two in between are cancelled, one more is made.
        let id = &ids[0];
        let r = app.send(app.request("PUT", &format!("/publishing/series/{id}"))
            .json(&json!({"rrule": "FREQ=DAILY;INTERVAL=2;COUNT=3"}))).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["rrule"], "FREQ=DAILY;INTERVAL=2;COUNT=3");
        let logs = series_logs(&app, id).await;
        let status_of = |n: usize| logs.iter().filter(|l| l["status"] == "scheduled").count() == n;
        assert!(status_of(3), "{logs:?}");
        assert_eq!(logs.iter().filter(|l| l["status"] == "cancelled").count(), 2);
        // Cancelling takes back what is scheduled, and a cancelled series takes no change.
        let r = app.post(&format!("/publishing/series/{id}/cancel"), &json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["status"], "cancelled");
        assert_eq!(r.body["next_occurrences"], json!([]));
        assert!(series_logs(&app, id).await.iter().all(|l| l["status"] == "cancelled"));
        let r = app.post_raw(&format!("/publishing/series/{id}/cancel"), "").await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = app.send(app.request("PUT", &format!("/publishing/series/{id}")).json(&json!({"exdates": []}))).await;
        assert_eq!((r.status.as_u16(), r.body["code"].as_str()), (409, Some("invalid_state")), "{}", r.text);
        // Unknown series.
        for r in [
            app.get("/publishing/series/ser_nope").await,
            app.post("/publishing/series/ser_nope/cancel", &json!({})).await,
            app.send(app.request("PUT", "/publishing/series/ser_nope").json(&json!({}))).await,
        ] {
            assert_eq!((r.status.as_u16(), r.body["code"].as_str()), (404, Some("not_found")), "{}", r.text);
        }
    }

    async fn what_a_series_refuses_names_the_reason_and_writes_nothing(backend) {
        let (app, _rules) = spawn_year_ahead(backend).await;
        app.account("acc_u", "instagram", "UTC").await;
        app.account("acc_ny", "instagram", "America/New_York").await;
        app.clip("clip_a").await;
        let base = json!({"clip_id": "clip_a", "social_account_id": "acc_u", "platform": "instagram",
                          "dtstart": tomorrow_at("19:00:00"), "rrule": "FREQ=DAILY"});
        let mut in_new_york = base.clone();
        in_new_york["social_account_id"] = json!("acc_ny");
        in_new_york["dtstart"] = json!("9999-12-31T23:00:00");
        let with = |key: &str, value: Value| {
            let mut body = base.clone();
            body[key] = value;
            body
        };
        let before = app.counts();
        for (body, status, code, says) in [
            (with("rrule", json!("FREQ=DAILY;BYSETPOS=1")), 422, "invalid_field", "BYSETPOS"),
            (with("rrule", json!("FREQ=YEARLY")), 422, "invalid_field", "YEARLY"),
            (with("rrule", json!("FREQ=DAILY;COUNT=3;UNTIL=20300101")), 422, "invalid_field", "rrule"),
            (with("rrule", json!("FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6;BYMINUTE=0,8,16,24,32,40,48")), 422, "invalid_field", "49 times a day"),
            (in_new_york.clone(), 422, "out_of_range", "after the last supported instant"),
            (with("dtstart", json!("2030-01-01T19:00:00Z")), 422, "invalid_field", "dtstart"),
            (with("dtstart", json!("10000-01-01T19:00:00")), 422, "invalid_field", "dtstart"),
            (with("dtstart", json!("1969-12-31T19:00:00")), 422, "out_of_range", "dtstart"),
            (with("dtstart", json!("2020-01-01T19:00:00")).as_object().map(|o| { let mut o = o.clone(); o.insert("rrule".into(), json!("FREQ=DAILY;COUNT=2")); Value::Object(o) }).unwrap(), 422, "past_time", "no occurrence"),
            (with("exdates", json!(["tomorrow"])), 422, "invalid_field", "exdates"),
            (with("exdates", json!("2030-01-01T19:00:00")), 400, "invalid_field", "expected a sequence"),
            (with("clip_id", json!("clip_nope")), 422, "clip_not_found", "clip_nope"),
            (with("platform", json!("tiktok")), 422, "platform_mismatch", "tiktok"),
            (with("scheduled_by", json!("robot")), 422, "invalid_field", "robot"),
            (with("priority", json!("urgent")), 422, "invalid_field", "urgent"),
            (with("rRule", json!("FREQ=DAILY")), 400, "unknown_field", "rRule"),
        ] {
            let r = app.post("/publishing/series", &body).await;
            assert_eq!((r.status.as_u16(), r.body["code"].as_str()), (status, Some(code)), "{body}: {}", r.text);
            assert!(r.body["error"].as_str().unwrap().contains(says), "{body}: {}", r.text);
        }
        let r = app.post("/publishing/series?dry_run=maybe", &base).await;
        assert_eq!((r.status.as_u16(), r.body["code"].as_str()), (400, Some("invalid_field")), "{}", r.text);
        assert_eq!(app.counts(), before);
        assert_eq!(app.get("/publishing/series").await.body["items"], json!([]));
    }
}
