//! Random hostile bodies (wrong types, unicode, huge strings, absurd dates) never make a 5xx
//! and always get a JSON answer. Seeded, so a failure reproduces.

use serde_json::{json, Map, Value};

use crate::support::{both_backends, spawn};

/// xorshift64*: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn string(&mut self) -> String {
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
        ];
        match self.below(10) {
            0 => "x".repeat(self.below(300_000)),
            1 => "é".repeat(self.below(5_000)),
            2 => self.time(),
            _ => (0..self.below(12)).map(|_| self.pick(PIECES)).collect(),
        }
    }

    fn time(&mut self) -> String {
        const TIMES: &[&str] = &[
            "0000-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "+275760-09-13T00:00:00Z",
            "-0001-01-01T00:00:00Z",
            "2099-02-30T10:00:00Z",
            "2099-01-15T24:00:00Z",
            "2099-01-15T23:59:60Z",
            "2099-01-15T20:00:00.999999999Z",
            "2099-01-15T20:00:00+23:59",
            "2099-01-15T20:00:00-23:59",
            "2099-01-15",
            "20:00",
            "2099-01-15T20:00:00",
            "1e308",
            "",
            "2099-W03-1",
            "2099-01-15T20:00:00Z",
            "2026-11-28T00:00:00Z",
        ];
        self.pick(TIMES).to_owned()
    }

    fn value(&mut self, depth: u32) -> Value {
        match self.below(if depth > 2 { 7 } else { 9 }) {
            0 => Value::Null,
            1 => json!(self.below(2) == 0),
            2 => json!(self.next() as i64),
            3 => json!(f64::from_bits(self.next() & 0x7fef_ffff_ffff_ffff)),
            4..=6 => json!(self.string()),
            7 => Value::Array((0..self.below(4)).map(|_| self.value(depth + 1)).collect()),
            _ => {
                let mut map = Map::new();
                for _ in 0..self.below(4) {
                    let key = self.string().chars().take(20).collect();
                    map.insert(key, self.value(depth + 1));
                }
                Value::Object(map)
            }
        }
    }

    /// An object with the endpoint's fields, each either plausible or hostile.
    fn body(&mut self, fields: &[&str]) -> Value {
        let mut map = Map::new();
        for field in fields {
            match self.below(4) {
                0 => {}
                1 => {
                    map.insert((*field).to_owned(), self.value(0));
                }
                _ => {
                    let plausible = match *field {
                        "clip_id" => json!("clip"),
                        "social_account_id" | "id" => json!("acc"),
                        "platform" => json!(self.pick(&["instagram", "tiktok", "INSTAGRAM", "x"])),
                        "timezone" => {
                            json!(self.pick(&["UTC", "Europe/Madrid", "utc", "Nowhere/Else"]))
                        }
                        "scheduled_by" => json!(self.pick(&["manual", "rule_engine", "nobody"])),
                        f if f.starts_with("scheduled") => json!(self.time()),
                        _ => json!(self.string()),
                    };
                    map.insert((*field).to_owned(), plausible);
                }
            }
        }
        Value::Object(map)
    }
}

const SCHEDULE: &[&str] = &[
    "clip_id",
    "platform",
    "social_account_id",
    "scheduled_for",
    "scheduled_window_end",
    "scheduled_by",
];

both_backends! {
    async fn hostile_bodies_never_make_a_5xx(backend) {
        let app = spawn(backend).await;
        app.account("acc", "instagram", "UTC").await;
        app.clip("clip").await;
        let log = app.schedule("clip", "acc", "2099-01-15T20:00:00Z").await.body["publish_log_id"]
            .as_str().unwrap().to_owned();
        let mut rng = Rng(0x0005_EED0_FA11_u64);
        for round in 0..250 {
            let (path, body) = match round % 6 {
                0 | 1 => ("/publishing/schedule".to_owned(), rng.body(SCHEDULE)),
                2 => ("/accounts".to_owned(),
                      rng.body(&["id", "platform", "handle", "timezone"])),
                3 => ("/clips".to_owned(), rng.body(&["id", "title", "media_url"])),
                4 => ("/publishing/schedule/batch".to_owned(),
                      json!({"items": (0..rng.below(5)).map(|_| rng.body(SCHEDULE)).collect::<Vec<_>>()})),
                _ => (format!("/publishing/logs/{log}/reschedule"),
                      rng.body(&["scheduled_for", "scheduled_window_end"])),
            };
            let body = if rng.below(8) == 0 { rng.value(0) } else { body };
            let r = app.post(&path, &body).await;
            assert!(r.status.as_u16() < 500, "round {round}: {path} {body} -> {} {}", r.status, r.text);
            assert!(r.is_json(), "round {round}: {path}: {r:?}");
        }
        // Hostile paths and queries.
        for path in ["/accounts/%00", "/clips/%FF%FE", "/publishing/logs/%E2%80%AE",
                     "/publishing/schedule/..%2F..", "/ledger/events?limit=99999999999999999999",
                     "/ledger/events?entity_id=%00&event_type=%FF", "/ledger/events?limit=1&limit=2"] {
            let r = app.get(path).await;
            assert!(r.status.as_u16() < 500 && r.is_json(), "{path}: {r:?}");
        }
        assert_eq!(app.get("/healthz").await.status, 200);
    }
}
