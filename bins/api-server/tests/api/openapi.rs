//! GET /openapi.json documents every route, and every documented operation is served.

use crate::support::{spawn, Backend};

#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = spawn(Backend::Sqlite).await;
    let r = app.get("/openapi.json").await;
    assert_eq!(r.status, 200);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3."));
    let paths = r.body["paths"].as_object().unwrap();
    assert!(paths.len() >= 13, "{}", r.text);
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            // The route is served: neither the unknown-route answer nor a wrong method.
            let concrete = path.replace("{id}", "x").replace("{clip_id}", "x");
            let r = app.send(app.request(&method, &concrete)).await;
            if path == "/metrics" {
                // The one answer that is not JSON: Prometheus's text.
                assert_eq!(r.status, 200, "{}", r.text);
                assert!(r.content_type().starts_with("application/openmetrics-text"));
                continue;
            }
            if path.starts_with("/calendar") && path != "/calendar/events" {
                // The calendar page's own files.
                assert_eq!(r.status, 200, "{}", r.text);
                assert!(r.content_type().starts_with("text/"), "{path}");
                continue;
            }
            assert!(r.is_json(), "{method} {path}: {r:?}");
            assert_ne!(r.status, 405, "{method} {path}");
            assert_ne!(r.body["error"], "not found", "{method} {path}");
        }
    }
}
