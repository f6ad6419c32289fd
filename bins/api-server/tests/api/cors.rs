//! Browsers: pages of a foreign origin are refused, listed origins get CORS answers.

use serde_json::json;

use crate::support::{both_backends, spawn, spawn_with};

both_backends! {
    async fn a_page_of_another_origin_changes_nothing(backend) {
        let app = spawn(backend).await;
        app.clip("clip").await;
        let before = app.counts();
        // What a page elsewhere can send without a preflight: a text/plain POST.
        for origin in ["https://evil.example", "null", "http://127.0.0.1:1", "http://localhost"] {
            for (method, path) in [("POST", "/clips"), ("POST", "/publishing/scheduler/tick"),
                                   ("POST", "/publishing/schedule"), ("GET", "/ledger/events"),
                                   ("OPTIONS", "/clips")] {
                let r = app.send(app.request(method, path).header("origin", origin)
                    .header("content-type", "text/plain").body(r#"{"id": "planted"}"#)).await;
                r.assert_error(403, "forbidden_origin");
                assert_eq!(r.headers["vary"], "origin");
                assert!(r.headers.get("access-control-allow-origin").is_none());
            }
        }
        assert_eq!(app.counts(), before);
        // The server's own pages, and clients that are not browsers, go through.
        let own = app.address.clone();
        let r = app.send(app.request("POST", "/clips").header("origin", own.to_uppercase()).json(&json!({"id": "own"}))).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert!(r.headers.get("access-control-allow-origin").is_none());
        assert_eq!(app.post("/clips", &json!({"id": "curl"})).await.status, 201);
    }

    async fn a_page_that_rebinds_its_name_to_the_server_is_refused(backend) {
        let app = spawn(backend).await;
        let before = app.counts();
        let port = app.address.rsplit(':').next().unwrap().to_owned();
        // evil.example resolved to 127.0.0.1 on the second lookup: its page's requests name it
        // in both headers, as a page of the server's own would.
        let host = format!("evil.example:{port}");
        let r = app.send(app.request("POST", "/clips").header("host", &host)
            .header("origin", format!("http://{host}")).json(&json!({"id": "planted"}))).await;
        r.assert_error(403, "forbidden_origin");
        // Its reads carry no Origin; a server without a token refuses the name itself.
        let r = app.send(app.request("GET", "/ledger/events").header("host", &host)).await;
        r.assert_error(403, "forbidden_origin");
        assert!(r.body["error"].as_str().unwrap().contains("--api-token"), "{}", r.text);
        assert_eq!(app.counts(), before);
        // The names no one else can point here still work, with or without a page.
        for name in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
            let r = app.send(app.request("GET", "/ledger/events").header("host", &name)
                .header("origin", format!("http://{name}"))).await;
            assert_eq!(r.status, 200, "{name}: {}", r.text);
        }
        // With a token the token keeps such pages out, so any name may be used, by clients and
        // by the server's own pages (the calendar page moving a post).
        let app = spawn_with(backend, |c| c.api_token = Some("t0ken".into())).await;
        let r = app.send(app.request("GET", "/ledger/events").header("host", "scheduler.internal:8000")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = app.send(app.request("POST", "/clips").header("host", "scheduler.internal:8000")
            .header("origin", "http://scheduler.internal:8000").json(&json!({"id": "c"}))).await;
        assert_eq!(r.status, 201, "{}", r.text);
        // A page of another name is still another origin.
        let r = app.send(app.request("POST", "/clips").header("host", "scheduler.internal:8000")
            .header("origin", "http://evil.example:8000").json(&json!({"id": "d"}))).await;
        r.assert_error(403, "forbidden_origin");
        // --allow-unauthenticated accepted every client that reaches the server: load
        // balancers and other services may use its name.
        let app = spawn_with(backend, |c| c.allow_unauthenticated = true).await;
        let r = app.send(app.request("GET", "/healthz").header("host", "scheduler.internal:8000")).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    async fn a_listed_origin_gets_cors_answers_and_still_needs_the_token(backend) {
        let page = "https://app.example";
        let mut app = spawn_with(backend, |c| {
            c.cors_origins = vec![page.to_owned(), "http://localhost:3000".to_owned()];
            c.api_token = Some("t0ken".to_owned());
        }).await;
        // The preflight carries no token.
        let token = app.token.take();
        let preflight = |path: &str, method: &str| {
            app.request("OPTIONS", path)
                .header("origin", page)
                .header("access-control-request-method", method)
                .header("access-control-request-headers", "authorization, content-type, idempotency-key")
        };
        let r = app.send(preflight("/publishing/schedule", "POST")).await;
        assert_eq!(r.status, 204, "{}", r.text);
        assert_eq!(r.headers["access-control-allow-origin"], page);
        assert_eq!(r.headers["access-control-allow-methods"], "POST");
        assert_eq!(r.headers["access-control-allow-headers"], "authorization, content-type, idempotency-key");
        assert_eq!(r.headers["access-control-max-age"], "600");
        let r = app.send(preflight("/clips/c", "GET")).await;
        assert_eq!((r.status.as_u16(), &r.headers["access-control-allow-methods"]), (204, &"GET, HEAD".parse().unwrap()));
        let r = app.send(preflight("/clips/c", "DELETE")).await;
        r.assert_error(405, "method_not_allowed");
        assert_eq!(r.headers["allow"], "GET, HEAD");
        app.send(preflight("/nowhere", "GET")).await.assert_error(404, "not_found");
        // Without the token the page is refused, and can read why.
        let r = app.send(app.request("POST", "/clips").header("origin", page).json(&json!({"id": "c"}))).await;
        r.assert_error(401, "unauthorized");
        assert_eq!(r.headers["access-control-allow-origin"], page);
        // With it, the page creates and reads where the clip is.
        app.token = token;
        let r = app.send(app.request("POST", "/clips").header("origin", page).json(&json!({"id": "c"}))).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.headers["access-control-allow-origin"], page);
        assert_eq!(r.headers["access-control-expose-headers"], "location, allow, www-authenticate");
        assert_eq!(r.headers["vary"], "origin");
        assert_eq!(r.headers["location"], "/clips/c");
        // Written as a browser writes it, the other listed origin too; an unlisted one is not.
        let r = app.send(app.request("GET", "/clips/c").header("origin", "http://LOCALHOST:3000")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = app.send(app.request("GET", "/clips/c").header("origin", "http://localhost:3001")).await;
        r.assert_error(403, "forbidden_origin");
    }
}

#[tokio::test]
async fn a_wildcard_or_a_path_is_not_an_origin() {
    for bad in ["*", "app.example", "https://app.example/ui"] {
        let db = scheduler_testkit::TestDb::new(scheduler_testkit::Backend::Sqlite);
        let mut config = api_server::Config::new("127.0.0.1:0", db.url.clone());
        config.cors_origins = vec![bad.to_owned()];
        let error = api_server::Application::build(config).await.unwrap_err();
        assert!(format!("{error:#}").contains("--cors-origins"), "{error:#}");
    }
}
