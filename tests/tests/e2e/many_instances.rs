//! Guarantee 1: several api-server processes on one database (no balancer: the test sends
//! requests round-robin), hundreds of concurrent schedule, reschedule and cancel requests →
//! every pair of active posts of one account + platform is at least the gap apart, each inside
//! its window in the account's zone (checked here with chrono-tz, not with the planner), and
//! every accepted request has exactly its log and its events.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use chrono_tz::Tz;
use e2e::{Audit, FeedReader, Server, TestDb};
use serde_json::json;

use crate::both_backends;
use crate::rng::Rng;

/// (account, platform, zone).
const ACCOUNTS: &[(&str, &str, &str)] = &[
    ("acc_ig_ny", "instagram", "America/New_York"),
    ("acc_ig_syd", "instagram", "Australia/Sydney"),
    ("acc_tt_berlin", "tiktok", "Europe/Berlin"),
    ("acc_tt_kolkata", "tiktok", "Asia/Kolkata"),
    ("acc_yt_tokyo", "youtube", "Asia/Tokyo"),
];

/// The default rules: (start hour, end hour, gap in minutes).
fn rules(platform: &str) -> (u32, u32, i64) {
    match platform {
        "instagram" => (18, 23, 60),
        "tiktok" => (16, 24, 30),
        "youtube" => (17, 22, 90),
        other => panic!("no rules for {other}"),
    }
}

fn parse(value: &serde_json::Value) -> DateTime<Utc> {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a time: {value}"))
        .parse()
        .unwrap()
}

#[derive(Debug, Default)]
struct Outcome {
    /// log id → (requested, stored by the schedule answer).
    scheduled: HashMap<String, (DateTime<Utc>, DateTime<Utc>)>,
    /// log id → the stored time of its last successful reschedule, and how many.
    rescheduled: HashMap<String, (DateTime<Utc>, usize)>,
    cancelled: HashSet<String>,
    /// Unexpected answers.
    failures: Vec<String>,
}

both_backends! {
    fn many_instances_keep_gaps_windows_and_the_ledger(backend) {
        let (instances, requests, workers) = match backend {
            e2e::Backend::Postgres => (3, 300, 30),
            e2e::Backend::Sqlite => (2, 120, 12),
        };
        let db = TestDb::new(backend);
        // The instances start at once on an empty database: the migrations must not collide.
        let servers: Vec<Server> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..instances)
                .map(|_| s.spawn(|| Server::start(&db.url, &["--db-pool-size", "6"])))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (id, platform, zone) in ACCOUNTS {
            let r = servers[0].post(
                "/accounts",
                &json!({"id": id, "platform": platform, "timezone": zone}),
            );
            assert_eq!(r.status, 201, "{}", r.text);
        }
        for i in 0..5 {
            let r = servers[1 % instances].post("/clips", &json!({"id": format!("clip_{i}")}));
            assert_eq!(r.status, 201, "{}", r.text);
        }

        let next_server = AtomicUsize::new(0);
        let outcome = Mutex::new(Outcome::default());
        let base: DateTime<Utc> = "2030-06-10T00:00:00Z".parse().unwrap();
        // A client follows the ledger's feed while the instances write.
        let writing = AtomicBool::new(true);
        let mut feed = std::thread::scope(|outer| {
            let reader = outer.spawn(|| {
                let mut feed = FeedReader::default();
                while writing.load(Ordering::SeqCst) {
                    if feed.poll(&servers[feed.events.len() % instances]) == 0 {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                }
                feed
            });
            std::thread::scope(|s| {
                for w in 0..workers {
                    let (servers, next_server, outcome) = (&servers, &next_server, &outcome);
                    s.spawn(move || {
                        let mut rng = Rng::new(0x5eed_0000 + w as u64);
                        let mut mine: Vec<String> = Vec::new();
                        let server = || &servers[next_server.fetch_add(1, Ordering::SeqCst) % instances];
                        let time = |rng: &mut Rng| {
                            base + TimeDelta::seconds(i64::try_from(rng.below(3 * 86_400)).unwrap())
                        };
                        for _ in 0..requests / workers {
                            let roll = rng.below(100);
                            if roll < 14 && !mine.is_empty() {
                                // Reschedule one of this worker's own scheduled logs.
                                let id = mine[rng.below(mine.len())].clone();
                                let to = time(&mut rng);
                                let r = server().post(
                                    &format!("/publishing/logs/{id}/reschedule"),
                                    &json!({"scheduled_for": to.to_rfc3339()}),
                                );
                                let mut o = outcome.lock().unwrap();
                                if r.status == 200 {
                                    let entry = o.rescheduled.entry(id).or_insert((to, 0));
                                    *entry = (parse(&r.body["scheduled_for"]), entry.1 + 1);
                                } else {
                                    o.failures.push(format!("reschedule {id}: {} {}", r.status, r.text));
                                }
                            } else if roll < 26 && !mine.is_empty() {
                                let id = mine.swap_remove(rng.below(mine.len()));
                                let r = server().call(
                                    "POST",
                                    &format!("/publishing/logs/{id}/cancel"),
                                    None,
                                );
                                let mut o = outcome.lock().unwrap();
                                if r.status == 200 && r.body["status"] == "cancelled" {
                                    o.cancelled.insert(id);
                                } else {
                                    o.failures.push(format!("cancel {id}: {} {}", r.status, r.text));
                                }
                            } else {
                                let (account, platform, _) = *rng.pick(ACCOUNTS);
                                let requested = time(&mut rng);
                                let r = server().post(
                                    "/publishing/schedule",
                                    &json!({
                                        "clip_id": format!("clip_{}", rng.below(5)),
                                        "platform": platform,
                                        "social_account_id": account,
                                        "scheduled_for": requested.to_rfc3339(),
                                    }),
                                );
                                let mut o = outcome.lock().unwrap();
                                if r.status == 201 && r.body["status"] == "scheduled" {
                                    let id = r.body["publish_log_id"].as_str().unwrap().to_owned();
                                    o.scheduled
                                        .insert(id.clone(), (requested, parse(&r.body["scheduled_for"])));
                                    mine.push(id);
                                } else {
                                    o.failures.push(format!("schedule: {} {}", r.status, r.text));
                                }
                            }
                        }
                    });
                }
            });
            writing.store(false, Ordering::SeqCst);
            reader.join().unwrap()
        });
        let outcome = outcome.into_inner().unwrap();
        assert!(outcome.failures.is_empty(), "unexpected answers: {:#?}", outcome.failures);
        assert!(outcome.scheduled.len() > requests / 2, "{} scheduled", outcome.scheduled.len());
        assert!(!outcome.cancelled.is_empty() && !outcome.rescheduled.is_empty());

        let audit = Audit::read(&mut db.conn());
        audit.assert_consistent();
        // The feed's reader, polling while hundreds of transactions committed on every
        // instance, gets every event once.
        feed.read_until(&servers[0], audit.events.len());
        feed.assert_read_exactly(&audit);

        // Exactly the accepted logs, with the answered times and statuses.
        let accepted: HashSet<&String> = outcome.scheduled.keys().collect();
        let stored: HashSet<&String> = audit.logs.keys().collect();
        assert_eq!(accepted, stored, "stored logs differ from the accepted requests");
        let adjusted = audit.count("adjusted");
        let rescheduled = audit.count("rescheduled");
        for (id, (requested, answered)) in &outcome.scheduled {
            let log = &audit.logs[id];
            let expected_status = if outcome.cancelled.contains(id) { "cancelled" } else { "scheduled" };
            assert_eq!(log.status, expected_status, "{id}");
            assert_eq!(
                adjusted.get(id.as_str()).copied().unwrap_or(0),
                usize::from(answered != requested),
                "adjusted events of {id} (requested {requested}, stored {answered})"
            );
            let (last, times) = outcome.rescheduled.get(id).map_or((*answered, 0), |(t, n)| (*t, *n));
            assert_eq!(rescheduled.get(id.as_str()).copied().unwrap_or(0), times, "rescheduled events of {id}");
            assert_eq!(log.scheduled_for.map(|t| t.and_utc()), Some(last), "stored time of {id}");
        }

        // Guarantee 1, checked independently of the planner.
        let zones: HashMap<&str, (&str, Tz)> = ACCOUNTS
            .iter()
            .map(|(id, platform, zone)| (*id, (*platform, zone.parse().unwrap())))
            .collect();
        let mut active: HashMap<(&str, &str), Vec<DateTime<Utc>>> = HashMap::new();
        for log in audit.logs.values() {
            if ["scheduled", "pending", "processing", "published"].contains(&log.status.as_str()) {
                let t = log.scheduled_for.expect("a scheduled time").and_utc();
                active.entry((log.account.as_str(), log.platform.as_str())).or_default().push(t);
            }
        }
        let mut checked = 0;
        for ((account, platform), times) in &mut active {
            let (account_platform, zone) = zones[account];
            assert_eq!(*platform, account_platform);
            let (start, end, gap) = rules(platform);
            times.sort();
            for t in times.iter() {
                let local = t.with_timezone(&zone);
                let hour = local.hour();
                assert!(
                    start <= hour && hour < end,
                    "{account}: {t} is {local} in {zone}, outside {start}:00–{end}:00"
                );
                assert_eq!(t.nanosecond(), 0);
                checked += 1;
            }
            for pair in times.windows(2) {
                assert!(
                    pair[1] - pair[0] >= TimeDelta::minutes(gap),
                    "{account}/{platform}: {} and {} are closer than {gap} min",
                    pair[0],
                    pair[1]
                );
            }
        }
        assert_eq!(checked, outcome.scheduled.len() - outcome.cancelled.len());
    }
}

both_backends! {
    fn an_idempotency_key_sent_to_every_instance_at_once_writes_once(backend) {
        let (instances, keys) = match backend {
            e2e::Backend::Postgres => (3, 20),
            e2e::Backend::Sqlite => (2, 10),
        };
        let db = TestDb::new(backend);
        let servers: Vec<Server> =
            (0..instances).map(|_| Server::start(&db.url, &["--db-pool-size", "6"])).collect();
        assert_eq!(servers[0].post("/accounts", &json!({"id": "acc_k", "platform": "tiktok"})).status, 201);
        assert_eq!(servers[0].post("/clips", &json!({"id": "clip_k"})).status, 201);

        // Every key goes to every instance at the same moment, as retries through a load
        // balancer would.
        let barrier = std::sync::Barrier::new(instances * keys);
        let answers: Vec<(usize, u16, String)> = std::thread::scope(|s| {
            let mut handles = Vec::new();
            for k in 0..keys {
                for server in &servers {
                    let barrier = &barrier;
                    handles.push(s.spawn(move || {
                        let body = json!({"clip_id": "clip_k", "platform": "tiktok",
                            "social_account_id": "acc_k",
                            "scheduled_for": format!("2030-07-{:02}T16:00:00Z", 1 + k % 28)});
                        barrier.wait();
                        let r = server
                            .call_auth_with_header(
                                "POST",
                                "/publishing/schedule",
                                &body.to_string(),
                                ("Idempotency-Key", &format!("key-{k}")),
                            );
                        (k, r.status.as_u16(), r.text)
                    }));
                }
            }
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut by_key: HashMap<usize, HashSet<String>> = HashMap::new();
        for (k, status, text) in answers {
            assert_eq!(status, 201, "key-{k}: {text}");
            by_key.entry(k).or_default().insert(text);
        }
        for (k, bodies) in &by_key {
            assert_eq!(bodies.len(), 1, "key-{k} got different answers: {bodies:?}");
        }
        let audit = Audit::read(&mut db.conn());
        assert_eq!(audit.logs.len(), keys, "one log per key");
        audit.assert_consistent();
    }
}
