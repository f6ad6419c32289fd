//! `publish-worker` against the real api-server and a fake platform: each answer of the
//! adapter becomes the report the contract names, and SIGTERM drains.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use e2e::{publish_worker, Answer, FakePlatform, Server, TestDb};
use serde_json::{json, Value};

use crate::both_backends;

/// The logs' statuses, by id, once none is `pending` or `processing` (or after `within`).
fn settled(server: &Server, ids: &[String], within: Duration) -> HashMap<String, Value> {
    let started = Instant::now();
    loop {
        let logs: HashMap<String, Value> = ids
            .iter()
            .map(|id| {
                (
                    id.clone(),
                    server.get(&format!("/publishing/logs/{id}")).body,
                )
            })
            .collect();
        let busy = logs
            .values()
            .any(|l| l["status"] == "pending" || l["status"] == "processing");
        if !busy || started.elapsed() > within {
            return logs;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

both_backends! {
    fn each_answer_of_the_adapter_becomes_its_report(backend) {
        let db = TestDb::new(backend);
        let server = Server::start(&db.url, &["--tick-interval", "1"]);
        assert_eq!(server.post("/accounts", &json!({"id": "acc", "platform": "tiktok"})).status, 201);
        // One clip per answer: the platform answers by the clip's title.
        let answers = ["publish", "rate_limited", "server_error", "refused", "hang", "slow"];
        let mut ids = Vec::new();
        for (i, answer) in answers.iter().enumerate() {
            let clip = format!("clip_{answer}");
            assert_eq!(server.post("/clips", &json!({"id": clip, "title": answer})).status, 201);
            let r = server.post("/publishing/schedule", &json!({"clip_id": clip, "platform": "tiktok",
                "social_account_id": "acc", "scheduled_for": format!("2099-01-0{}T17:00:00Z", i + 1)}));
            assert_eq!(r.status, 201, "{}", r.text);
            ids.push(r.body["publish_log_id"].as_str().unwrap().to_owned());
        }
        for id in &ids {
            db.make_due(id);
        }
        let platform = FakePlatform::start(|body, _| match body["clip"]["title"].as_str() {
            Some("publish") => Answer::Publish,
            Some("rate_limited") => Answer::Status(429, Some(7_200)),
            Some("server_error") => Answer::Status(503, None),
            Some("refused") => Answer::Status(400, None),
            Some("hang") => Answer::Hang(Duration::from_secs(17)),
            // Longer than the lease: only heartbeats keep it.
            Some("slow") => Answer::Slow(Duration::from_secs(12)),
            other => panic!("unexpected post {other:?}"),
        });
        let mut worker = publish_worker(&server.base, &platform.url, &[
            "--concurrency", "8", "--lease-seconds", "10", "--poll-interval", "0.2",
            "--publish-timeout", "14", "--worker-id", "w-test",
        ]);
        // The slow post is in flight: SIGTERM now lets it finish.
        let started = Instant::now();
        while !platform.received().iter().any(|r| r.body["clip"]["title"] == "slow") {
            assert!(started.elapsed() < Duration::from_secs(30), "nothing reached the platform: {}", worker.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
        worker.signal("TERM");
        let status = worker.wait(Duration::from_secs(40)).expect("the worker drains and exits");
        assert_eq!(status.code(), Some(0), "{}", worker.stderr());

        let logs = settled(&server, &ids, Duration::from_secs(5));
        let status = |i: usize| logs[&ids[i]]["status"].as_str().unwrap().to_owned();
        assert_eq!(status(0), "published");
        assert_eq!(logs[&ids[0]]["platform_post_id"], format!("pp_{}", ids[0]));
        assert_eq!(logs[&ids[0]]["permalink"], format!("https://platform.example/p/{}", ids[0]));
        // A rate limit of two hours: planned again at least that late, the attempt not counted.
        assert_eq!((status(1), &logs[&ids[1]]["attempt"]), ("scheduled".into(), &json!(0)));
        let planned: chrono::DateTime<chrono::Utc> = logs[&ids[1]]["scheduled_for"].as_str().unwrap().parse().unwrap();
        assert!(planned >= chrono::Utc::now() + chrono::TimeDelta::seconds(7_100), "{}", logs[&ids[1]]);
        assert_eq!((status(2), &logs[&ids[2]]["attempt"]), ("scheduled".into(), &json!(1)));
        assert!(logs[&ids[2]]["last_error"].as_str().unwrap().contains("503"), "{}", logs[&ids[2]]);
        assert_eq!(status(3), "failed");
        assert_eq!(status(4), "unconfirmed");
        assert!(logs[&ids[4]]["last_error"].as_str().unwrap().contains("may be up"), "{}", logs[&ids[4]]);
        // It took longer than its lease: heartbeats kept it, and SIGTERM let it finish.
        assert_eq!(status(5), "published", "the post in flight was lost");

        // What the adapter got: the log, its clip and account, and the log's id as the key.
        for received in platform.received() {
            assert_eq!(received.idempotency_key.as_deref(), Some(received.log_id.as_str()));
            assert_eq!(received.body["account"]["id"], "acc");
            assert_eq!(received.body["log"]["status"], "processing");
            assert_eq!(received.attempt, 1);
        }
        assert_eq!(platform.received().len(), 6);
        let claimed = server.get("/ledger/events?event_type=publish_claimed&limit=100").body;
        assert!(claimed.as_array().unwrap().iter().all(|e| e["metadata"]["worker_id"] == "w-test"));
    }
}

/// The events of every log, oldest first: `(type, metadata)` by log id.
fn histories(db: &TestDb) -> HashMap<String, Vec<String>> {
    use diesel::prelude::*;
    use scheduler_store::schema::ledger_events::dsl as e;
    let rows: Vec<(String, String)> = e::ledger_events
        .order(e::seq.asc())
        .select((e::entity_id, e::event_type))
        .load(&mut db.conn())
        .unwrap();
    let mut by_log: HashMap<String, Vec<String>> = HashMap::new();
    for (id, event) in rows {
        by_log.entry(id).or_default().push(event);
    }
    by_log
}

/// Each log's status.
fn statuses(db: &TestDb) -> HashMap<String, String> {
    use diesel::prelude::*;
    use scheduler_store::schema::publish_logs::dsl as p;
    p::publish_logs
        .select((p::id, p::status))
        .load::<(String, String)>(&mut db.conn())
        .unwrap()
        .into_iter()
        .collect()
}

/// When the leases of the `processing` logs end.
fn lease_ends(db: &TestDb) -> Vec<chrono::DateTime<chrono::Utc>> {
    use diesel::prelude::*;
    use scheduler_store::schema::publish_logs::dsl as p;
    p::publish_logs
        .filter(p::status.eq("processing"))
        .select(p::lease_expires_at)
        .load::<Option<chrono::NaiveDateTime>>(&mut db.conn())
        .unwrap()
        .into_iter()
        .flatten()
        .map(|t| t.and_utc())
        .collect()
}

// Guarantee 5: 2 api-servers, 4 workers, 2,000 due posts, a platform that fails some attempts
// and hangs on others, and workers and servers killed with SIGKILL at random and restarted. No
// post reaches the platform twice, no log is held by two leases at once, none is completed
// twice, and every claimed post ends published, failed, unconfirmed or scheduled again.
both_backends! {
    fn no_post_is_published_twice_whatever_is_killed(backend) {
        const POSTS: usize = 2_000;
        let db = TestDb::new(backend);
        let ids = e2e::insert_due_logs(&mut db.conn(), POSTS);
        // Retries due within seconds, at any hour: a post fails, is planned again, and is
        // claimed and published again while the test runs.
        let rules = std::env::temp_dir().join(format!("rules-{}.toml", std::process::id()));
        std::fs::write(&rules, "[platforms.instagram]\nstart_hour = 0\nend_hour = 24\n\
            min_gap_minutes = 0\nretry_base_seconds = 1\n").unwrap();
        let rules = rules.to_str().unwrap().to_owned();
        let server_args = ["--tick-interval", "1", "--rules", rules.as_str()];
        let ports = [e2e::free_port(), e2e::free_port()];
        let mut servers: Vec<Server> = ports.iter().map(|&p| Server::start_on(p, &db.url, None, &server_args)).collect();
        // The platform fails a share of first attempts, by the log's id.
        let platform = FakePlatform::start(|body, nth| {
            let id = body["log"]["id"].as_str().unwrap_or_default();
            let h = id.bytes().fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))) % 100;
            match (nth, h) {
                (1, 0..=5) => Answer::Status(500, None),
                (1, 6..=9) => Answer::Status(429, Some(1)),
                (1, 10..=13) => Answer::Status(400, None),
                (1, 14..=16) => Answer::Hang(Duration::from_secs(3)),
                (1, 17..=19) => Answer::Slow(Duration::from_millis(300)),
                _ => Answer::Publish,
            }
        });
        let worker_args = ["--concurrency", "8", "--lease-seconds", "10", "--poll-interval", "0.2",
                           "--publish-timeout", "2"];
        let start_worker = |i: usize| {
            let api = format!("http://127.0.0.1:{}", ports[i % 2]);
            let id = format!("w{i}");
            let mut args = worker_args.to_vec();
            args.extend(["--worker-id", id.as_str()]);
            publish_worker(&api, &platform.url, &args)
        };
        let mut workers: Vec<_> = (0..4).map(start_worker).collect();

        // Chaos while the posts go out.
        let mut rng = crate::rng::Rng::new(0x5eed_0005);
        let (mut worker_kills, mut server_kills) = (0, 0);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(12) {
            std::thread::sleep(Duration::from_millis(300 + rng.below(500) as u64));
            if rng.below(4) == 0 && server_kills < 3 {
                let i = rng.below(2);
                servers[i].kill9();
                servers[i] = Server::start_on(ports[i], &db.url, None, &server_args);
                server_kills += 1;
            } else {
                let i = rng.below(4);
                workers[i].kill9();
                workers[i] = start_worker(i);
                worker_kills += 1;
            }
        }
        // Settle: the killed workers' leases run out (10 s) and a tick (every second) makes
        // their posts unconfirmed. None stays processing past its lease and a tick (with 10 s
        // of slack for a loaded machine).
        let settled = Instant::now();
        loop {
            let busy = statuses(&db).values()
                .filter(|s| matches!(s.as_str(), "pending" | "processing" | "scheduled"))
                .count();
            if busy == 0 {
                break;
            }
            let overdue = lease_ends(&db).into_iter()
                .filter(|end| *end < chrono::Utc::now() - chrono::TimeDelta::seconds(11))
                .count();
            assert_eq!(overdue, 0, "posts processing past their lease and a tick");
            assert!(settled.elapsed() < Duration::from_secs(60), "{busy} posts still pending or processing");
            std::thread::sleep(Duration::from_millis(250));
        }
        for worker in &mut workers {
            worker.signal("TERM");
        }
        for worker in &mut workers {
            let status = worker.wait(Duration::from_secs(20)).expect("the worker drains");
            assert_eq!(status.code(), Some(0), "{}", worker.stderr());
        }

        let statuses = statuses(&db);
        let histories = histories(&db);
        let received = platform.received();
        let mut up: HashMap<&str, usize> = HashMap::new();
        for r in received.iter().filter(|r| r.is_up()) {
            *up.entry(r.log_id.as_str()).or_default() += 1;
        }
        let mut tally: HashMap<&str, usize> = HashMap::new();
        for id in &ids {
            let status = statuses[id].as_str();
            *tally.entry(status).or_default() += 1;
            assert!(["published", "failed", "unconfirmed", "scheduled"].contains(&status), "{id}: {status}");
            let events = &histories[id];
            // Every claim follows an enqueue, and its lease ends before the next claim.
            for (i, event) in events.iter().enumerate() {
                if event == "publish_claimed" {
                    assert_eq!(events[i - 1], "publish_scheduled_enqueued", "{id}: {events:?}");
                    let next = events.get(i + 1).map(String::as_str);
                    assert!(matches!(next, Some("publish_published" | "publish_attempt_failed" | "publish_lease_expired")),
                            "{id}: a claim not ended by its own report or expiry: {events:?}");
                }
            }
            let published = events.iter().filter(|e| *e == "publish_published").count();
            assert!(published <= 1, "{id} completed {published} times: {events:?}");
            let times_up = up.get(id.as_str()).copied().unwrap_or(0);
            assert!(times_up <= 1, "{id} reached the platform {times_up} times");
            // The last event says what the status says.
            let last = events.last().unwrap().as_str();
            let agrees = match status {
                "published" => last == "publish_published",
                "failed" => last == "publish_failed",
                "unconfirmed" => matches!(last, "publish_lease_expired" | "publish_attempt_failed"),
                _ => last == "publish_attempt_failed",
            };
            assert!(agrees, "{id} is {status} after {events:?}");
            match status {
                "published" => assert_eq!((published, times_up), (1, 1), "{id}: {events:?}"),
                "failed" | "scheduled" => assert_eq!(times_up, 0, "{id} is up but {status}: {events:?}"),
                _ => {}
            }
        }
        eprintln!("{POSTS} posts, {worker_kills} workers and {server_kills} servers killed: {tally:?}");
        if tally.get("published").copied().unwrap_or(0) < POSTS / 2 {
            use diesel::prelude::*;
            use scheduler_store::schema::publish_logs::dsl as p;
            let errors: Vec<Option<String>> = p::publish_logs.select(p::last_error).limit(3).load(&mut db.conn()).unwrap();
            eprintln!("errors: {errors:?}; received {}; worker 0: {}", received.len(), workers[0].stderr());
        }
        assert!(tally.get("published").copied().unwrap_or(0) >= POSTS / 2, "{tally:?}");
        assert!(worker_kills >= 5, "too little chaos: {worker_kills} worker kills");
        // Retries happened: posts the platform refused first were claimed again and are up.
        let retried = histories.values()
            .filter(|events| events.iter().filter(|e| *e == "publish_claimed").count() >= 2)
            .count();
        assert!(retried >= 100, "only {retried} posts were claimed twice");
    }
}
