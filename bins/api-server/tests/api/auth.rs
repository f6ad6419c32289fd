//! Bearer-token auth.

use serde_json::json;

use crate::support::{both_backends, spawn_with};

both_backends! {
    async fn token_required_except_health_and_openapi(backend) {
        let mut app = spawn_with(backend, |c| c.api_token = Some("s3cret-token".into())).await;
        // With the token.
        let r = app.post("/clips", &json!({"id": "c"})).await;
        assert_eq!(r.status, 201, "{}", r.text);
        app.token = None;
        let before = app.counts();
        for (method, path) in [("POST", "/clips"), ("GET", "/clips/c"), ("POST", "/publishing/schedule"),
                               ("GET", "/ledger/events"), ("POST", "/publishing/scheduler/tick"),
                               ("GET", "/nope")] {
            let r = app.send(app.request(method, path).body("{}")).await;
            r.assert_error(401);
            assert_eq!(r.headers["www-authenticate"], "Bearer");
            for header in ["Bearer wrong", "Bearer s3cret-toke", "Bearer s3cret-token-", "s3cret-token",
                           "Basic czNjcmV0LXRva2Vu", "Bearer "] {
                let r = app.send(app.request(method, path).header("authorization", header).body("{}")).await;
                r.assert_error(401);
            }
        }
        assert_eq!(app.counts(), before);
        assert_eq!(app.get("/healthz").await.status, 200);
        assert_eq!(app.get("/openapi.json").await.status, 200);
    }
}
