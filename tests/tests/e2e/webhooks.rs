//! Guarantee 6: no webhook event is missed. Three receivers (one failing each event's first
//! three tries, one hanging 15 s once, one healthy), two api-servers and a tick-runner
//! delivering at once from one database, 1,000 posts scheduled, ticked, claimed and
//! published meanwhile, and a delivering server killed with SIGKILL mid-run.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use e2e::{publish_worker, tick_loop, Answer, FakePlatform, Server, TestDb};
use scheduler_testkit::{Receiver, Reply};
use serde_json::{json, Value};

use crate::both_backends;

const POSTS: usize = 1_000;

/// Every ledger event: id and when it was written.
fn events(db: &TestDb) -> Vec<(String, DateTime<Utc>)> {
    use scheduler_store::schema::ledger_events::dsl as e;
    e::ledger_events
        .order(e::seq.asc())
        .select((e::id, e::created_at))
        .load::<(String, chrono::NaiveDateTime)>(&mut db.conn())
        .unwrap()
        .into_iter()
        .map(|(id, at)| (id, at.and_utc()))
        .collect()
}

/// The deliveries not yet settled (pending), and the failed ones with their errors.
fn unsettled(db: &TestDb) -> (i64, Vec<(String, Option<String>)>) {
    use scheduler_store::schema::webhook_deliveries::dsl as d;
    let conn = &mut db.conn();
    let pending = d::webhook_deliveries
        .filter(d::status.eq("pending"))
        .count()
        .get_result(conn)
        .unwrap();
    let failed = d::webhook_deliveries
        .filter(d::status.eq("failed"))
        .select((d::event_id, d::last_error))
        .load(conn)
        .unwrap();
    (pending, failed)
}

both_backends! {
    fn no_webhook_event_is_missed_with_deliverers_killed(backend) {
        let db = TestDb::new(backend);
        // Posts at any hour, no gap: due seconds after they are scheduled.
        let rules = std::env::temp_dir().join(format!("rules-webhooks-{}.toml", std::process::id()));
        std::fs::write(&rules, "[platforms.instagram]\nstart_hour = 0\nend_hour = 24\nmin_gap_minutes = 0\n").unwrap();
        let rules = rules.to_str().unwrap().to_owned();
        let schedule = "1s,1s,2s,2s,2s,2s";
        let server_args = ["--tick-interval", "1", "--rules", rules.as_str(), "--allow-private-webhooks",
                           "--webhook-retry-schedule", schedule];
        let ports = [e2e::free_port(), e2e::free_port()];
        let mut servers: Vec<Server> = ports.iter().map(|&p| Server::start_on(p, &db.url, None, &server_args)).collect();
        let ticker = tick_loop(&db.url, &["--interval", "1", "--webhooks", "--allow-private-webhooks",
                                          "--webhook-retry-schedule", schedule]);

        let flaky = Receiver::start(|d| if d.nth <= 3 { Reply::Status(500, "try later".into()) } else { Reply::ok() });
        let hung = Arc::new(AtomicBool::new(false));
        let hangs_once = {
            let hung = Arc::clone(&hung);
            Receiver::start(move |_| {
                if hung.swap(true, Ordering::SeqCst) { Reply::ok() } else { Reply::Hang(Duration::from_secs(15)) }
            })
        };
        let healthy = Receiver::start(|_| Reply::Status(204, String::new()));
        let receivers = [&flaky, &hangs_once, &healthy];
        let secrets: Vec<String> = receivers.iter().map(|r| {
            let answer = servers[0].post("/webhooks", &json!({"url": r.url}));
            assert_eq!(answer.status, 201, "{}", answer.text);
            answer.body["secret"].as_str().unwrap().to_owned()
        }).collect();

        // 1,000 posts due in a few seconds, published by a worker as they come due.
        let platform = FakePlatform::start(|_, _| Answer::Publish);
        let worker = publish_worker(&servers[1].base, &platform.url,
                                    &["--concurrency", "16", "--poll-interval", "0.2", "--worker-id", "w1"]);
        for i in 0..10 {
            assert_eq!(servers[1].post("/accounts", &json!({"id": format!("acc{i}"), "platform": "instagram"})).status, 201);
        }
        assert_eq!(servers[1].post("/clips", &json!({"id": "clip"})).status, 201);
        let due = (Utc::now() + chrono::TimeDelta::seconds(3)).to_rfc3339();
        for batch in 0..POSTS / 500 {
            let items: Vec<Value> = (0..500).map(|i| json!({
                "clip_id": "clip", "platform": "instagram",
                "social_account_id": format!("acc{}", (batch * 500 + i) % 10), "scheduled_for": due,
            })).collect();
            let answer = servers[batch % 2].post("/publishing/schedule/batch", &json!({"items": items}));
            assert_eq!(answer.status, 200, "{}", answer.text);
            assert!(answer.body["results"].as_array().unwrap().iter().all(|r| r["status"] == "scheduled"), "{}", answer.text);
        }

        // Mid-run, while the receivers are busy: a delivering server is killed and restarted.
        let started = Instant::now();
        assert!(e2e::eventually(Duration::from_secs(60), || healthy.count() >= 1_000), "deliveries did not start");
        servers[0].kill9();
        std::thread::sleep(Duration::from_millis(500));
        servers[0] = Server::start_on(ports[0], &db.url, None, &server_args);

        // Every post published, then every delivery settled.
        let published = || {
            use scheduler_store::schema::publish_logs::dsl as p;
            p::publish_logs.filter(p::status.eq("published")).count().get_result::<i64>(&mut db.conn()).unwrap()
        };
        assert!(e2e::eventually(Duration::from_secs(120), || published() == POSTS as i64),
                "{} of {POSTS} published", published());
        let settled = e2e::eventually(Duration::from_secs(120), || {
            let all = events(&db).len();
            unsettled(&db).0 == 0 && receivers.iter().all(|r| {
                r.deliveries().iter().map(|d| d.id.as_str()).collect::<HashSet<_>>().len() >= all
            })
        });
        let (pending, failed) = unsettled(&db);
        assert!(settled, "after {:?}: {pending} deliveries pending, {} failed", started.elapsed(), failed.len());

        // Every event reached every receiver, signed, with its own body; none is failed (a
        // failure would have to say why).
        let events = events(&db);
        assert!(events.len() >= 4 * POSTS, "{} events", events.len());
        assert!(failed.is_empty(), "{failed:?}");
        for (receiver, secret) in receivers.iter().zip(&secrets) {
            let mut first: HashMap<String, DateTime<Utc>> = HashMap::new();
            for delivery in receiver.deliveries() {
                assert!(delivery.verifies(secret), "a bad signature: {delivery:?}");
                assert_eq!(delivery.body["data"]["id"].as_str(), Some(delivery.id.as_str()));
                first.entry(delivery.id.clone()).or_insert(delivery.arrived_at);
            }
            let missing: Vec<&String> = events.iter().map(|(id, _)| id).filter(|id| !first.contains_key(*id)).collect();
            assert!(missing.is_empty(), "{} events never reached {}: {:?}", missing.len(), receiver.url, &missing[..missing.len().min(5)]);
        }
        // Each failing try of the flaky receiver was tried again, and a deliverer killed
        // mid-send left its deliveries to be made again: duplicates, never gaps.
        assert!(flaky.count() >= 4 * events.len(), "{} deliveries to the flaky receiver", flaky.count());
        // The healthy receiver heard of each event within 5 s on average.
        let arrivals: HashMap<String, DateTime<Utc>> = healthy.deliveries().into_iter().rev().map(|d| (d.id, d.arrived_at)).collect();
        let delays: Vec<f64> = events.iter()
            .map(|(id, at)| (arrivals[id] - *at).num_milliseconds() as f64 / 1000.0)
            .collect();
        let average = delays.iter().sum::<f64>() / delays.len() as f64;
        eprintln!("{} events, {} deliveries to the flaky receiver, {} to the hanging one, {} to the healthy one \
                   (average {average:.2} s after the event), in {:?}",
                  events.len(), flaky.count(), hangs_once.count(), healthy.count(), started.elapsed());
        assert!(average < 5.0, "the healthy receiver heard of events {average:.2} s after them on average");
        assert!(hung.load(Ordering::SeqCst));
        drop((worker, ticker));
    }
}

// From cron: a server that does not deliver (`--no-webhooks`), and `tick-runner --webhooks`
// run once, which ticks, delivers what is due and exits.
both_backends! {
    fn tick_runner_run_once_delivers_what_is_due(backend) {
        let db = TestDb::new(backend);
        let server = Server::start(&db.url, &["--no-webhooks", "--allow-private-webhooks"]);
        let receiver = Receiver::start(|_| Reply::ok());
        let answer = server.post("/webhooks", &json!({"url": receiver.url, "event_types": ["publish_scheduled_created"]}));
        assert_eq!(answer.status, 201, "{}", answer.text);
        let secret = answer.body["secret"].as_str().unwrap().to_owned();
        assert_eq!(server.post("/accounts", &json!({"id": "acc", "platform": "instagram"})).status, 201);
        assert_eq!(server.post("/clips", &json!({"id": "clip"})).status, 201);
        let r = server.post("/publishing/schedule", &json!({"clip_id": "clip", "platform": "instagram",
            "social_account_id": "acc", "scheduled_for": "2099-01-10T20:00:00Z"}));
        assert_eq!(r.status, 201, "{}", r.text);
        std::thread::sleep(Duration::from_secs(1));
        assert_eq!(receiver.count(), 0, "the server does not deliver");

        let out = e2e::tick_once(&db.url, &["--webhooks", "--allow-private-webhooks"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let got = receiver.deliveries();
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].verifies(&secret));
        assert_eq!(got[0].body["data"]["entity_id"], r.body["publish_log_id"]);
        // Refused: a dry run cannot deliver, and the webhook flags need --webhooks.
        for args in [&["--webhooks", "--dry-run"][..], &["--allow-private-webhooks"][..]] {
            let out = e2e::tick_once(&db.url, args);
            assert_eq!(out.status.code(), Some(2), "{args:?}");
        }
    }
}
