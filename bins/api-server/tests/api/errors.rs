//! Every answer is JSON: unknown routes, wrong methods, extractor failures.

use serde_json::json;

use crate::support::{both_backends, spawn};

both_backends! {
    async fn unknown_route_and_wrong_method(backend) {
        let app = spawn(backend).await;
        let before = app.counts();
        for (method, path) in [("GET", "/nope"), ("POST", "/"), ("GET", "/accounts/a/b"),
                               ("DELETE", "/publishing/logs/x/y/z")] {
            let r = app.send(app.request(method, path)).await;
            r.assert_error(404, "not_found");
        }
        for (method, path) in [("PUT", "/accounts"), ("DELETE", "/accounts/x"), ("PUT", "/clips"),
                               ("GET", "/publishing/scheduler/tick"), ("POST", "/healthz"),
                               ("GET", "/publishing/logs/x/cancel"), ("PATCH", "/publishing/schedule")] {
            let r = app.send(app.request(method, path)).await;
            r.assert_error(405, "method_not_allowed");
        }
        assert_eq!(app.counts(), before);
    }
}

/// Sends `request` as raw bytes on a new connection and reads until the server closes it (or
/// the second `Connection: close` answer): the status line, headers and body of each answer.
async fn raw(app: &crate::support::TestApp, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer);
    tokio::time::timeout(std::time::Duration::from_secs(30), read)
        .await
        .expect("the server closes the connection")
        .unwrap();
    String::from_utf8(answer).unwrap()
}

/// The status and JSON body of a raw answer that is the last on its connection.
#[track_caller]
fn status_and_json(answer: &str) -> (u16, serde_json::Value) {
    let (head, body) = answer.split_once("\r\n\r\n").expect("a complete answer");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{answer}"
    );
    let status = head[9..12].parse().unwrap();
    (
        status,
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}")),
    )
}

both_backends! {
    async fn requests_the_http_layer_refuses_get_json_too(backend) {
        let app = spawn(backend).await;
        let long_path = format!("GET /{} HTTP/1.1\r\nHost: localhost\r\n\r\n", "a".repeat(100_000));
        let many_headers = format!(
            "GET /healthz HTTP/1.1\r\nHost: localhost\r\n{}\r\n",
            (0..200).map(|i| format!("X-{i}: a\r\n")).collect::<String>()
        );
        let cases: [(&[u8], u16); 5] = [
            (long_path.as_bytes(), 400),
            (many_headers.as_bytes(), 431),
            (b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", 400),
            (b"GET /healthz HTTP/9.9\r\nHost: localhost\r\n\r\n", 400),
            (b"NONSENSE\r\n\r\n", 400),
        ];
        for (request, expected) in cases {
            let answer = raw(&app, request).await;
            let (status, body) = status_and_json(&answer);
            assert_eq!(status, expected, "{answer}");
            assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{answer}");
        }
        // An answer before a refused request on the same connection is left as it was.
        let answer = raw(&app, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nNONSENSE\r\n\r\n").await;
        let (first, second) = answer.split_at(answer.find("HTTP/1.1 400").expect(&answer));
        assert!(first.starts_with("HTTP/1.1 200") && first.ends_with("{\"status\":\"ok\"}"), "{first}");
        assert_eq!(status_and_json(second).0, 400);
    }

    async fn get_routes_answer_head(backend) {
        let app = spawn(backend).await;
        app.clip("c").await;
        for path in ["/healthz", "/clips/c", "/ledger/events", "/openapi.json", "/publishing/schedule/c"] {
            let get = app.get(path).await;
            let head = app.send(app.request("HEAD", path)).await;
            assert_eq!(head.status, 200, "{path}");
            assert!(head.text.is_empty(), "{path}: {}", head.text);
            assert_eq!(head.headers["content-length"], get.text.len().to_string(), "{path}");
        }
        assert_eq!(app.send(app.request("HEAD", "/clips/nope")).await.status, 404);
        let r = app.send(app.request("DELETE", "/clips/c")).await;
        r.assert_error(405, "method_not_allowed");
        assert_eq!(r.headers["allow"], "GET, HEAD");
    }

    async fn every_route_holds_the_body_limit(backend) {
        let app = spawn(backend).await;
        let before = app.counts();
        let big = vec![b' '; 300 * 1024];
        for (method, path) in [("POST", "/publishing/scheduler/tick"), ("POST", "/publishing/logs/x/cancel"),
                               ("GET", "/healthz"), ("POST", "/clips")] {
            let r = app.send(app.request(method, path).body(big.clone())).await;
            r.assert_error(413, "payload_too_large");
        }
        // Without a length up front, the body is cut off where it is read.
        let mut chunked = b"POST /publishing/scheduler/tick HTTP/1.1\r\nHost: localhost\r\n\
                            Transfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..300 {
            chunked.extend_from_slice(b"400\r\n");
            chunked.extend_from_slice(&[b' '; 1024]);
            chunked.extend_from_slice(b"\r\n");
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        let answer = raw(&app, &chunked).await;
        assert_eq!(status_and_json(&answer).0, 413, "{answer}");
        assert_eq!(app.counts(), before);
    }

    async fn endpoints_without_a_body_refuse_one(backend) {
        let app = spawn(backend).await;
        let r = app.post_raw("/publishing/scheduler/tick", r#"{"dry_run": true}"#).await;
        r.assert_error(400, "unknown_field");
        assert!(r.body["error"].as_str().unwrap().contains("unknown field `dry_run`"), "{}", r.text);
        assert_eq!(app.post_raw("/publishing/scheduler/tick", "{}").await.status, 200);
        assert_eq!(app.post_raw("/publishing/scheduler/tick", "").await.status, 200);
        app.post_raw("/publishing/logs/x/cancel", "[1]").await.assert_error(400, "invalid_field");
    }

    async fn a_field_the_endpoint_does_not_know_is_named_and_changes_nothing(backend) {
        let app = spawn(backend).await;
        app.account("acc", "instagram", "UTC").await;
        app.clip("clip").await;
        let post = json!({"clip_id": "clip", "platform": "instagram", "social_account_id": "acc",
                          "scheduled_for": "2099-01-15T20:00:00Z"});
        let r = app.post("/publishing/schedule", &post).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let log = format!("/publishing/logs/{}", r.body["publish_log_id"].as_str().unwrap());
        let before = app.counts();
        let misspelt = json!({"clip_id": "clip", "platform": "instagram", "social_account_id": "acc",
                              "scheduledFor": "2031-06-01T17:00:00Z"});
        let reason = app.post("/publishing/schedule", &misspelt).await.assert_rejected(400, "unknown_field");
        assert_eq!(reason, "unknown field `scheduledFor`");
        for (path, body, field) in [
            (format!("{log}/reschedule"), json!({"scheduled_at": "2031-06-01T17:00:00Z"}), "scheduled_at"),
            ("/accounts".to_owned(), json!({"platform": "tiktok", "time_zone": "Europe/Paris"}), "time_zone"),
            ("/clips".to_owned(), json!({"id": "c2", "tilte": "x"}), "tilte"),
            ("/publishing/schedule/batch".to_owned(), json!({"items": [post.clone()], "atomic": true}), "atomic"),
        ] {
            let r = app.post(&path, &body).await;
            r.assert_error(400, "unknown_field");
            assert_eq!(r.body["error"], format!("unknown field `{field}`"), "{path}");
        }
        // A query parameter too: the ledger has no `offset`, and a typo must not list everything.
        let r = app.get("/ledger/events?offset=10").await;
        r.assert_error(400, "unknown_field");
        app.get("/ledger/events?entityid=x").await.assert_error(400, "unknown_field");
        // Also where the route takes no parameter at all; the schedule endpoint answers in its
        // rejected shape.
        for path in ["/clips/clip?expand=all", "/healthz?verbose=1", "/metrics?format=json", &format!("{log}?fields=id")] {
            let r = app.get(path).await;
            r.assert_error(400, "unknown_field");
        }
        let reason = app.post("/publishing/schedule?dry_run=true", &post).await.assert_rejected(400, "unknown_field");
        assert_eq!(reason, "unknown field `dry_run`");
        assert_eq!(app.counts(), before);
        assert_eq!(app.get(&log).await.body["scheduled_for"], "2099-01-15T20:00:00Z");
        // In a batch, the item with the typo is rejected on its own, the others planned.
        let valid = json!({"clip_id": "clip", "platform": "instagram", "social_account_id": "acc",
                           "scheduled_for": "2031-06-02T20:00:00Z"});
        let r = app.post("/publishing/schedule/batch", &json!({"items": [misspelt, valid]})).await;
        assert_eq!(r.body["results"][0]["code"], "unknown_field", "{}", r.text);
        assert_eq!(r.body["results"][1]["status"], "scheduled", "{}", r.text);
        assert_eq!(r.body["results"][1]["scheduled_for"], "2031-06-02T20:00:00Z", "{}", r.text);
    }

    async fn a_key_given_twice_is_malformed(backend) {
        let app = spawn(backend).await;
        let before = app.counts();
        let r = app.post_raw("/clips", r#"{"id": "a", "id": "b"}"#).await;
        r.assert_error(400, "malformed_json");
        assert!(r.body["error"].as_str().unwrap().contains("duplicate key `id`"), "{}", r.text);
        let r = app
            .post_raw("/publishing/schedule", r#"{"clip_id": "c", "clip_id": "d", "platform": "instagram", "social_account_id": "a"}"#)
            .await;
        assert!(r.assert_rejected(400, "malformed_json").contains("duplicate key `clip_id`"));
        assert_eq!(app.counts(), before);
    }
}

/// A body that stops arriving gets 408 once `BODY_TIMEOUT` has passed, and nothing is written.
#[tokio::test]
async fn a_body_that_never_arrives_times_out() {
    let app = spawn(crate::support::Backend::Sqlite).await;
    let before = app.counts();
    let started = std::time::Instant::now();
    let answer = raw(
        &app,
        b"POST /clips HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"id\":",
    )
    .await;
    assert!(
        started.elapsed() >= api_server::input::BODY_TIMEOUT,
        "{answer}"
    );
    assert_eq!(status_and_json(&answer).0, 408, "{answer}");
    assert_eq!(app.counts(), before);
}
