//! Published posts per second through the whole handoff: a release api-server, 8
//! `publish-worker` processes and a platform that answers at once. Each post is claimed,
//! handed to the platform and completed.
//!
//! ```sh
//! cargo build --release --workspace
//! cargo run --release -p e2e --example publish_bench -- sqlite 20000
//! TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo run --release -p e2e --example publish_bench -- postgres 20000
//! ```

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use e2e::{binary, insert_due_logs, Answer, Backend, FakePlatform, Process, Server, TestDb};

const WORKERS: usize = 8;

fn published(db: &TestDb) -> i64 {
    use scheduler_store::schema::publish_logs::dsl as p;
    p::publish_logs
        .filter(p::status.eq("published"))
        .count()
        .get_result(&mut db.conn())
        .unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = match args.get(1).map(String::as_str) {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let posts: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let concurrency = args.get(3).cloned().unwrap_or_else(|| "4".into());
    let db = TestDb::new(backend);
    insert_due_logs(&mut db.conn(), posts);
    diesel::sql_query("UPDATE publish_logs SET status = 'pending'")
        .execute(&mut db.conn())
        .unwrap();
    let server = Server::start(&db.url, &[]);
    let platform = FakePlatform::start(|_, _| Answer::Publish);
    let started = Instant::now();
    let workers: Vec<Process> = (0..WORKERS)
        .map(|i| {
            let mut command = Command::new(binary("publish-worker"));
            command
                .env_clear()
                .env("RUST_LOG", "warn")
                .args(["--api-url", &server.base, "--publisher-url", &platform.url])
                .args(["--concurrency", &concurrency, "--poll-interval", "0.05"])
                .args(["--worker-id", &format!("bench-{i}")])
                .stdin(Stdio::null());
            Process::spawn(command)
        })
        .collect();
    let mut last = (Instant::now(), 0);
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let done = published(&db);
        if done as usize >= posts {
            break;
        }
        if done != last.1 {
            last = (Instant::now(), done);
        }
        assert!(
            last.0.elapsed() < Duration::from_secs(30),
            "stuck at {done} published"
        );
    }
    let elapsed = started.elapsed();
    drop(workers);
    println!(
        "{backend:?}: {posts} posts published by {WORKERS} workers × {concurrency} in {:.2} s: {:.0} posts/s",
        elapsed.as_secs_f64(),
        posts as f64 / elapsed.as_secs_f64()
    );
}
