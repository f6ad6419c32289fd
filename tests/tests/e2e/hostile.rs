//! Guarantee 4 against the real server process: seeded random bodies, path segments and
//! query strings on every route of `/openapi.json` → never a 5xx, never a hang (the client
//! gives up after 30 s), always a JSON body, never a leak. The input limits answer 422 with a
//! reason and write nothing.

use serde_json::{json, Map, Value};

use e2e::{assert_no_leak, Audit, Server, TestDb};

use crate::both_backends;
use crate::rng::Rng;

const PIECES: &[&str] = &[
    "acc",
    "clip",
    "instagram",
    "TikTok",
    "youtube",
    "ñ",
    "☃",
    "🎬",
    "\u{0}",
    "\u{7f}",
    "\u{202e}",
    " ",
    "\t",
    "\n",
    "'",
    "\"",
    "\\",
    "%",
    "_",
    ";DROP TABLE clips;--",
    "../",
    "<script>",
    "\u{fffd}",
    "\u{10ffff}",
    "Z",
    "null",
    "{",
    "}",
    "?",
    "#",
    "&",
    "=",
    "/",
];

const TIMES: &[&str] = &[
    "2030-06-15T20:00:00Z",
    "2030-06-15T20:00:00",
    "2030-06-15T20:00:00.999999999+14:00",
    "0000-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "9999-12-31T23:59:59Z",
    "+275760-09-13T00:00:00Z",
    "2030-02-30T10:00:00Z",
    "2030-06-15",
    "tomorrow",
    "",
    "1e400",
];

const FIELDS: &[&str] = &[
    "id",
    "platform",
    "handle",
    "timezone",
    "title",
    "media_url",
    "clip_id",
    "social_account_id",
    "scheduled_for",
    "scheduled_window_end",
    "scheduled_by",
    "items",
];

fn string(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => "x".repeat(rng.below(40_000)),
        1 => "é".repeat(rng.below(3_000)),
        2 => (*rng.pick(TIMES)).to_owned(),
        _ => (0..rng.below(12)).map(|_| *rng.pick(PIECES)).collect(),
    }
}

fn value(rng: &mut Rng, depth: u32) -> Value {
    match rng.below(if depth > 2 { 6 } else { 9 }) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(i64::MIN + i64::try_from(rng.below(3)).unwrap()),
        3 => json!(f64::from(u32::try_from(rng.below(1 << 20)).unwrap()) / 7.0),
        4 | 5 => json!(string(rng)),
        6 => Value::Array((0..rng.below(4)).map(|_| value(rng, depth + 1)).collect()),
        _ => object(rng, depth + 1),
    }
}

fn object(rng: &mut Rng, depth: u32) -> Value {
    let mut map = Map::new();
    for _ in 0..rng.below(7) {
        let key = if rng.below(5) == 0 {
            string(rng)
        } else {
            (*rng.pick(FIELDS)).to_owned()
        };
        map.insert(key, value(rng, depth));
    }
    // Often a nearly valid schedule request, so the business checks run too.
    if rng.below(3) == 0 {
        map.insert("clip_id".into(), json!(*rng.pick(&["clip_h", "nope", ""])));
        map.insert(
            "social_account_id".into(),
            json!(*rng.pick(&["acc_h", "nope"])),
        );
        map.insert(
            "platform".into(),
            json!(*rng.pick(&["instagram", "tiktok", "x"])),
        );
    }
    Value::Object(map)
}

fn body(rng: &mut Rng) -> String {
    match rng.below(8) {
        0 => String::new(),
        1 => string(rng),
        2 => "{\"items\": [".to_owned() + &"{},".repeat(rng.below(600)) + "{}]}",
        3 => value(rng, 0).to_string(),
        _ => object(rng, 0).to_string(),
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Every (method, path) of the OpenAPI document.
pub fn operations(server: &Server) -> Vec<(String, String)> {
    let doc = server.get("/openapi.json");
    assert_eq!(doc.status, 200);
    let mut all = Vec::new();
    for (path, item) in doc.body["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                all.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    assert!(all.len() >= 14, "{all:?}");
    all
}

both_backends! {
    fn random_input_on_every_route_never_fails_the_server(backend) {
        let rounds = match backend {
            e2e::Backend::Sqlite => 40,
            e2e::Backend::Postgres => 20,
        };
        let db = TestDb::new(backend);
        let server = Server::start(&db.url, &["--db-pool-size", "4"]);
        assert_eq!(server.post("/accounts", &json!({"id": "acc_h", "platform": "instagram"})).status, 201);
        assert_eq!(server.post("/clips", &json!({"id": "clip_h"})).status, 201);
        let operations = operations(&server);
        let mut rng = Rng::new(0xdead_beef);
        let mut sent = 0;
        for _ in 0..rounds {
            for (method, template) in &operations {
                let mut path = String::new();
                for part in template.split('/').filter(|p| !p.is_empty()) {
                    path.push('/');
                    if part.starts_with('{') {
                        path.push_str(&encode(&string(&mut rng)).chars().take(6_000).collect::<String>());
                        if path.ends_with('/') || path.ends_with("/.") { path.push('x'); }
                    } else {
                        path.push_str(part);
                    }
                }
                if rng.below(2) == 0 {
                    let key = *rng.pick(&["limit", "entity_id", "event_type", "dry_run", "x"]);
                    path.push_str(&format!("?{key}={}", encode(&string(&mut rng))));
                }
                let body = (method == "POST").then(|| body(&mut rng));
                let r = server.call(method, &path, body.as_deref());
                let what = format!("{method} {path} {:?}", body.as_deref().map(|b| b.chars().take(200).collect::<String>()));
                assert!(r.status < 500, "{what} → {} {}", r.status, r.text);
                assert!(r.is_json(), "{what} → not JSON: {r:?}");
                assert_no_leak(&what, &r);
                sent += 1;
            }
        }
        eprintln!("{backend}: {sent} random requests");
        assert!(server.is_running());
        Audit::read(&mut db.conn()).assert_consistent();
    }

    fn limits_answer_422_with_a_reason_and_write_nothing(backend) {
        let db = TestDb::new(backend);
        let server = Server::start(&db.url, &[]);
        assert_eq!(server.post("/accounts", &json!({"id": "acc_l", "platform": "instagram"})).status, 201);
        assert_eq!(server.post("/clips", &json!({"id": "clip_l"})).status, 201);
        let before = Audit::read(&mut db.conn());
        let long = "x".repeat(129);
        assert_eq!(server.post("/clips", &json!({"id": "x".repeat(128)})).status, 201);

        for (path, body) in [
            ("/accounts", json!({"id": long, "platform": "instagram"})),
            ("/clips", json!({"id": long})),
        ] {
            let r = server.post(path, &body);
            r.assert_error(422);
            assert!(r.text.contains("128"), "{}", r.text);
        }
        let schedule = |fields: Value| {
            let mut body = json!({"clip_id": "clip_l", "platform": "instagram",
                                  "social_account_id": "acc_l"});
            for (k, v) in fields.as_object().unwrap() {
                body[k] = v.clone();
            }
            server.post("/publishing/schedule", &body)
        };
        for (fields, reason) in [
            (json!({"clip_id": long}), "128"),
            (json!({"social_account_id": long}), "128"),
            (json!({"scheduled_for": "9999-12-31T23:00:00Z"}), "1970"),
            (json!({"scheduled_for": "1960-01-01T00:00:00Z"}), "1970"),
            (json!({"scheduled_for": "2030-06-15T20:00:00Z",
                    "scheduled_window_end": "9999-12-31T23:00:00Z"}), "1970"),
        ] {
            let r = schedule(fields.clone());
            assert_eq!(r.status, 422, "{fields}: {}", r.text);
            assert_eq!(r.body["status"], "rejected");
            let text = r.body["reason"].as_str().unwrap();
            assert!(text.contains(reason), "{fields}: {text}");
        }
        // Over 500 items: the contract's 400 (a malformed batch), with a reason.
        let item = json!({"clip_id": "clip_l", "platform": "instagram", "social_account_id": "acc_l"});
        let r = server.post("/publishing/schedule/batch", &json!({"items": vec![item.clone(); 501]}));
        r.assert_error(400);
        assert!(r.text.contains("500"), "{}", r.text);
        let r = server.post("/publishing/logs/log_x/reschedule", &json!({"scheduled_for": "10000-01-01T00:00:00Z"}));
        assert!(r.status == 400 || r.status == 404 || r.status == 422, "{}", r.text);
        let r = server.get(&format!("/ledger/events?limit=1001&entity_id={long}"));
        r.assert_error(400);

        let after = Audit::read(&mut db.conn());
        assert_eq!(after.logs.len(), before.logs.len());
        assert_eq!(after.events.len(), before.events.len());
    }
}
