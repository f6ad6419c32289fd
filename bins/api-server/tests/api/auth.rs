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
            r.assert_error(401, "unauthorized");
            assert_eq!(r.headers["www-authenticate"], "Bearer");
            for header in ["Bearer wrong", "Bearer s3cret-toke", "Bearer s3cret-token-", "s3cret-token",
                           "Basic czNjcmV0LXRva2Vu", "Bearer "] {
                let r = app.send(app.request(method, path).header("authorization", header).body("{}")).await;
                r.assert_error(401, "unauthorized");
            }
        }
        assert_eq!(app.counts(), before);
        assert_eq!(app.get("/healthz").await.status, 200);
        assert_eq!(app.get("/openapi.json").await.status, 200);
    }
}

both_backends! {
    async fn the_scheme_is_case_insensitive(backend) {
        let mut app = spawn_with(backend, |c| c.api_token = Some("s3cret-token".into())).await;
        app.token = None;
        for header in ["Bearer s3cret-token", "bearer s3cret-token", "BEARER s3cret-token",
                       "Bearer   s3cret-token", " Bearer s3cret-token "] {
            let r = app.send(app.request("GET", "/ledger/events").header("authorization", header)).await;
            assert_eq!(r.status, 200, "{header:?}: {}", r.text);
        }
    }
}

#[tokio::test]
async fn a_token_is_trimmed_and_one_no_header_can_carry_is_refused() {
    use api_server::{Application, Config};
    let dir = tempfile::tempdir().unwrap();
    let config = |token: &str| {
        let mut c = Config::new(
            "127.0.0.1:0",
            dir.path().join("db.sqlite").to_str().unwrap(),
        );
        c.api_token = Some(token.to_owned());
        c
    };
    // A token read from a secret file ends with a newline: it is the token without it.
    let mut app = crate::support::spawn_with(crate::support::Backend::Sqlite, |c| {
        c.api_token = Some(" abc\n".into())
    })
    .await;
    app.token = Some("abc".into());
    assert_eq!(app.get("/ledger/events").await.status, 200);
    for bad in ["", " \n", "a b", "abc\u{7f}", "tøken", "a\tb"] {
        let error = format!(
            "{:#}",
            Application::build(config(bad)).await.expect_err(bad)
        );
        assert!(
            error.contains("empty") || error.contains("cannot carry"),
            "{bad:?}: {error}"
        );
    }
}
