//! GET /openapi.json documents every route, and every route in the table is served.

use api_server::routes::ROUTES;

use crate::support::{spawn, Backend};

#[tokio::test]
async fn every_route_is_documented_and_served() {
    let app = spawn(Backend::Sqlite).await;
    let r = app.get("/openapi.json").await;
    assert_eq!(r.status, 200);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3."));
    let paths = r.body["paths"].as_object().unwrap();
    for (method, path) in ROUTES {
        let op = &paths
            .get(*path)
            .unwrap_or_else(|| panic!("{path} is not in /openapi.json"))[method.to_lowercase()];
        assert!(op.is_object(), "{method} {path} is not in /openapi.json");
        // The route is served: neither the unknown-route answer nor a wrong method.
        let concrete = path.replace("{id}", "x").replace("{clip_id}", "x");
        let r = app.send(app.request(method, &concrete)).await;
        assert!(r.is_json(), "{method} {path}: {r:?}");
        assert_ne!(r.status, 405, "{method} {path}");
        assert_ne!(r.body["error"], "not found", "{method} {path}");
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, ROUTES.len());
}
