//! POST/GET /accounts and /clips.

use serde_json::json;

use crate::support::{assert_instant, both_backends, spawn};

both_backends! {
    async fn accounts_listed_by_id_a_page_at_a_time(backend) {
        let app = spawn(backend).await;
        assert_eq!(app.get("/accounts").await.body, json!({"items": [], "next_cursor": null}));
        for id in ["acc_c", "acc_a", "acc_b"] {
            app.account(id, "tiktok", "Europe/Berlin").await;
        }
        let r = app.get("/accounts?limit=2").await;
        assert_eq!(r.status, 200, "{}", r.text);
        let ids: Vec<_> = r.body["items"].as_array().unwrap().iter().map(|a| a["id"].clone()).collect();
        assert_eq!(ids, [json!("acc_a"), json!("acc_b")]);
        assert_eq!(r.body["items"][0]["timezone"], "Europe/Berlin");
        assert!(r.body["items"][0]["calendar_key"].as_str().unwrap().starts_with("cal_"));
        assert_eq!(r.body["next_cursor"], "acc_b");
        let r = app.get("/accounts?limit=2&cursor=acc_b").await;
        assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
        assert_eq!(r.body["items"][0]["id"], "acc_c");
        assert_eq!(r.body["next_cursor"], json!(null));
        for query in ["limit=0", "limit=501", "limit=x"] {
            app.get(&format!("/accounts?{query}")).await.assert_error(400, "invalid_field");
        }
        // Lists of accounts are ids separated by commas, so no account id holds one.
        let r = app.post("/accounts", &json!({"id": "acc_a,acc_b", "platform": "tiktok"})).await;
        r.assert_error(422, "invalid_field");
        assert!(r.body["error"].as_str().unwrap().contains("comma"), "{}", r.text);
        app.get("/accounts?platform=tiktok").await.assert_error(400, "unknown_field");
    }

    async fn account_created_and_read(backend) {
        let app = spawn(backend).await;
        let r = app
            .post("/accounts", &json!({"id": "acc_1", "platform": "Instagram",
                                        "handle": "@me", "timezone": "america/new_york"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_instant(&r.body["created_at"]);
        let mut expected = json!({"id": "acc_1", "platform": "instagram", "handle": "@me",
                                  "timezone": "America/New_York"});
        expected["created_at"] = r.body["created_at"].clone();
        let key = r.body["calendar_key"].as_str().unwrap();
        assert!(key.starts_with("cal_") && key.len() == 68 && key[4..].bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
        expected["calendar_key"] = r.body["calendar_key"].clone();
        assert_eq!(r.body, expected);
        let got = app.get("/accounts/acc_1").await;
        assert_eq!(got.status, 200);
        assert_eq!(got.body, expected);
    }

    async fn a_201_says_where_the_new_row_is_read_also_on_a_retry(backend) {
        let app = spawn(backend).await;
        let odd = "a/b?c#d%eé";
        let cases = [
            ("/accounts", json!({"id": odd, "platform": "tiktok"}), "/accounts/a%2Fb%3Fc%23d%25e%C3%A9"),
            ("/clips", json!({"id": odd}), "/clips/a%2Fb%3Fc%23d%25e%C3%A9"),
        ];
        for (path, body, location) in cases {
            let send = || app.send(app.request("POST", path).header("Idempotency-Key", path).json(&body));
            let first = send().await;
            assert_eq!(first.status, 201, "{}", first.text);
            assert_eq!(first.headers["location"], location);
            let retry = send().await;
            assert_eq!((retry.status, &retry.headers["location"]), (first.status, &first.headers["location"]));
            let read = app.get(location).await;
            assert_eq!((read.status.as_u16(), &read.body), (200, &first.body));
        }
        let r = app.post("/publishing/schedule", &json!({"clip_id": odd, "platform": "tiktok",
                                                          "social_account_id": odd})).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let location = r.headers["location"].to_str().unwrap();
        assert_eq!(location, format!("/publishing/logs/{}", r.body["publish_log_id"].as_str().unwrap()));
        assert_eq!(app.get(location).await.body["id"], r.body["publish_log_id"]);
    }

    async fn dot_ids_are_refused_because_no_url_can_name_them(backend) {
        let app = spawn(backend).await;
        let before = app.counts();
        for id in [".", ".."] {
            app.post("/accounts", &json!({"id": id, "platform": "tiktok"})).await.assert_error(422, "invalid_field");
            app.post("/clips", &json!({"id": id})).await.assert_error(422, "invalid_field");
        }
        assert_eq!(app.counts(), before);
        for id in ["...", ".a", "a.", "%2E"] {
            let r = app.post("/clips", &json!({"id": id})).await;
            assert_eq!(r.status, 201, "{id}: {}", r.text);
            let location = r.headers["location"].to_str().unwrap();
            assert_eq!(app.get(location).await.body["id"], id, "{location}");
        }
    }

    async fn account_defaults(backend) {
        let app = spawn(backend).await;
        // A text/plain body is still read as JSON.
        let r = app
            .send(app.request("POST", "/accounts")
                .header("content-type", "text/plain")
                .body(r#"{"platform": "tiktok"}"#))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert!(r.body["id"].as_str().unwrap().starts_with("acc_"));
        assert_eq!(r.body["timezone"], "UTC");
        assert_eq!(r.body["handle"], serde_json::Value::Null);
        assert_eq!(r.body.as_object().unwrap().len(), 6);
    }

    async fn account_errors_write_nothing(backend) {
        let app = spawn(backend).await;
        app.account("taken", "instagram", "UTC").await;
        let before = app.counts();
        app.post("/accounts", &json!({"id": "taken", "platform": "tiktok"})).await.assert_error(409, "already_exists");
        app.post("/accounts", &json!({"platform": "myspace"})).await.assert_error(422, "unknown_platform");
        app.post("/accounts", &json!({"platform": "instagram", "timezone": "Mars/Base"}))
            .await.assert_error(422, "invalid_field");
        app.post("/accounts", &json!({"id": "a b", "platform": "instagram"})).await.assert_error(422, "invalid_field");
        app.post("/accounts", &json!({"id": "x".repeat(129), "platform": "instagram"}))
            .await.assert_error(422, "invalid_field");
        app.post("/accounts", &json!({"id": "", "platform": "instagram"})).await.assert_error(422, "invalid_field");
        app.post("/accounts", &json!({"platform": "instagram", "handle": "h".repeat(2049)}))
            .await.assert_error(422, "invalid_field");
        app.post("/accounts", &json!({"platform": "instagram", "handle": "a\u{0}b"}))
            .await.assert_error(422, "invalid_field");
        app.post("/accounts", &json!({"platform": 5})).await.assert_error(400, "invalid_field");
        app.post("/accounts", &json!({"handle": "no platform"})).await.assert_error(400, "invalid_field");
        app.post("/accounts", &json!(["platform"])).await.assert_error(400, "invalid_field");
        app.post_raw("/accounts", "{not json").await.assert_error(400, "malformed_json");
        app.post_raw("/accounts", "").await.assert_error(400, "malformed_json");
        assert_eq!(app.counts(), before);
        let r = app.get("/accounts/nobody").await;
        r.assert_error(404, "not_found");
        assert_eq!(r.body["error"], "account not found: nobody");
    }

    async fn clip_created_and_read(backend) {
        let app = spawn(backend).await;
        let r = app
            .post("/clips", &json!({"id": "clip_1", "title": "Ñandú ☃", "media_url": "s3://b/k.mp4"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_instant(&r.body["created_at"]);
        let mut expected = json!({"id": "clip_1", "title": "Ñandú ☃", "media_url": "s3://b/k.mp4"});
        expected["created_at"] = r.body["created_at"].clone();
        assert_eq!(r.body, expected);
        assert_eq!(app.get("/clips/clip_1").await.body, expected);

        let r = app.post("/clips", &json!({})).await;
        assert_eq!(r.status, 201);
        assert!(r.body["id"].as_str().unwrap().starts_with("clip_"));
        assert_eq!(r.body["title"], serde_json::Value::Null);
    }

    async fn clip_errors_write_nothing(backend) {
        let app = spawn(backend).await;
        app.clip("taken").await;
        let before = app.counts();
        app.post("/clips", &json!({"id": "taken"})).await.assert_error(409, "already_exists");
        app.post("/clips", &json!({"title": "t".repeat(2049)})).await.assert_error(422, "invalid_field");
        app.post("/clips", &json!({"media_url": "u".repeat(2049)})).await.assert_error(422, "invalid_field");
        app.post("/clips", &json!({"id": "tab\there"})).await.assert_error(422, "invalid_field");
        app.post("/clips", &json!({"title": ["list"]})).await.assert_error(400, "invalid_field");
        app.post_raw("/clips", "[").await.assert_error(400, "malformed_json");
        assert_eq!(app.counts(), before);
        app.get("/clips/none").await.assert_error(404, "not_found");
    }
}
