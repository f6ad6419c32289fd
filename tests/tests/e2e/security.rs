//! With a token configured, every route of the OpenAPI document but `/healthz`,
//! `/openapi.json`, the calendar page's own files (which hold no data) and the calendar feed
//! (opened by its own key) answers 401 with a JSON error
//! without the token (or with a wrong one), and
//! the error answers across the error paths leak no SQL, file path or stack trace.

use serde_json::json;

use e2e::{assert_no_leak, Server, TestDb};

use crate::both_backends;
use crate::hostile::operations;

const TOKEN: &str = "e2e-secret-token";

both_backends! {
    fn every_route_needs_the_token_and_errors_leak_nothing(backend) {
        let db = TestDb::new(backend);
        let server = Server::start_with_token(&db.url, Some(TOKEN), &[]);
        let operations = operations(&server);
        // What the document says each operation needs agrees with what the server does.
        let doc = server.get("/openapi.json").body;
        for (method, template) in &operations {
            let security = &doc["paths"][template][method.to_lowercase()]["security"];
            let open = *security == json!([]);
            assert!(open || *security == json!([{"bearer": []}]), "{method} {template}: {security}");
            // The calendar feed is open to its key, checked by the handler.
            let keyed = template == "/accounts/{id}/calendar.ics";
            let page = ["/calendar", "/calendar/calendar.js", "/calendar/calendar.css"].contains(&template.as_str());
            assert_eq!(
                open,
                template == "/healthz" || template == "/openapi.json" || keyed || page,
                "{method} {template}: only /healthz, /openapi.json, the calendar page and the calendar feed are open"
            );
            let path = template.replace(['{', '}'], "");
            let body = (method == "POST").then_some("{}");
            for token in [None, Some("wrong"), Some(""), Some("e2e-secret-tokenX")] {
                let r = server.call_auth(method, &path, body, token).unwrap();
                if keyed {
                    // No such account, and no key: the one answer that says nothing.
                    r.assert_error(404, "not_found");
                } else if open {
                    assert_eq!(r.status, 200, "{method} {path}: {}", r.text);
                } else {
                    r.assert_error(401, "unauthorized");
                }
                assert_no_leak(&path, &r);
            }
        }

        // Methods the document does not list: 405 with a JSON error and an `Allow` header
        // (RFC 9110), with the token.
        for (_, template) in &operations {
            let path = template.replace(['{', '}'], "");
            let documented = |m: &str| operations.iter().any(|(om, t)| t == template && om == m);
            for method in ["PUT", "DELETE", "PATCH"].into_iter().filter(|m| !documented(m)) {
                let r = server.call(method, &path, Some("{}"));
                r.assert_error(405, "method_not_allowed");
                let allow = r.headers.get("allow").and_then(|v| v.to_str().ok());
                assert!(
                    allow.is_some_and(|a| a.contains("GET") || a.contains("POST")),
                    "{method} {path}: 405 without a usable Allow header: {allow:?}"
                );
                assert_no_leak(&path, &r);
            }
        }

        // The error paths, with the token.
        assert_eq!(server.post("/accounts", &json!({"id": "acc_s", "platform": "instagram"})).status, 201);
        assert_eq!(server.post("/clips", &json!({"id": "clip_s"})).status, 201);
        let r = server.post("/publishing/schedule", &json!({"clip_id": "clip_s",
            "platform": "instagram", "social_account_id": "acc_s",
            "scheduled_for": "2030-06-15T20:00:00Z"}));
        assert_eq!(r.status, 201, "{}", r.text);
        let log = r.body["publish_log_id"].as_str().unwrap().to_owned();
        let big = format!("{{\"id\": \"{}\"}}", "x".repeat(300 * 1024));
        let cases: Vec<(&str, String, Option<String>, u16)> = vec![
            ("GET", "/accounts/nope".into(), None, 404),
            ("GET", "/clips/nope".into(), None, 404),
            ("GET", "/publishing/logs/nope".into(), None, 404),
            ("GET", "/publishing/schedule/nope".into(), None, 404),
            ("GET", "/nowhere".into(), None, 404),
            ("DELETE", "/accounts".into(), None, 405),
            ("POST", "/accounts".into(), Some("{not json".into()), 400),
            ("POST", "/accounts".into(), Some("[1,2]".into()), 400),
            ("POST", "/accounts".into(), Some(json!({"id": "acc_s", "platform": "instagram"}).to_string()), 409),
            ("POST", "/accounts".into(), Some(json!({"platform": "myspace"}).to_string()), 422),
            ("POST", "/accounts".into(), Some(json!({"platform": "instagram", "timezone": "Mars/Olympus"}).to_string()), 422),
            ("POST", "/clips".into(), Some(big), 413),
            ("POST", "/clips".into(), Some(json!({"id": "clip_s"}).to_string()), 409),
            ("POST", "/publishing/schedule".into(), Some("{\"clip_id\": 5}".into()), 400),
            ("POST", "/publishing/schedule".into(), Some(json!({"clip_id": "nope", "platform": "instagram", "social_account_id": "acc_s"}).to_string()), 422),
            ("POST", "/publishing/schedule/batch".into(), Some("{\"items\": 3}".into()), 400),
            ("POST", format!("/publishing/logs/{log}/reschedule"), Some(json!({"scheduled_for": "2020-01-01T00:00:00Z"}).to_string()), 422),
            ("POST", format!("/publishing/logs/{log}/cancel"), None, 200),
            ("POST", format!("/publishing/logs/{log}/cancel"), None, 409),
            ("POST", format!("/publishing/logs/{log}/reschedule"), Some("{}".into()), 409),
            ("POST", "/publishing/scheduler/tick?dry_run=maybe".into(), None, 400),
            ("GET", "/ledger/events?limit=-1".into(), None, 400),
            ("GET", "/ledger/events?limit=%27%3B%20SELECT%201".into(), None, 400),
        ];
        for (method, path, body, status) in cases {
            let r = server.call(method, &path, body.as_deref());
            assert_eq!(r.status, status, "{method} {path}: {}", r.text);
            assert!(r.is_json(), "{method} {path}: not JSON: {r:?}");
            assert_no_leak(&path, &r);
        }
    }
}
