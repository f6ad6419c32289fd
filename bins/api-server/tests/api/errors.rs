//! Every answer is JSON: unknown routes, wrong methods, extractor failures.

use crate::support::{both_backends, spawn};

both_backends! {
    async fn unknown_route_and_wrong_method(backend) {
        let app = spawn(backend).await;
        let before = app.counts();
        for (method, path) in [("GET", "/nope"), ("POST", "/"), ("GET", "/accounts/a/b"),
                               ("DELETE", "/publishing/logs/x/y/z")] {
            let r = app.send(app.request(method, path)).await;
            r.assert_error(404);
        }
        for (method, path) in [("GET", "/accounts"), ("DELETE", "/accounts/x"), ("PUT", "/clips"),
                               ("GET", "/publishing/scheduler/tick"), ("POST", "/healthz"),
                               ("GET", "/publishing/logs/x/cancel"), ("PATCH", "/publishing/schedule")] {
            let r = app.send(app.request(method, path)).await;
            r.assert_error(405);
        }
        assert_eq!(app.counts(), before);
    }
}
