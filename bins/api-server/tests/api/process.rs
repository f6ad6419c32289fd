//! The binary itself: it stops cleanly (exit 0) on SIGTERM, and the in-process tick moves due
//! logs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use crate::support::{spawn_with, Backend};

#[test]
fn sigterm_stops_the_binary_with_exit_0() {
    stops_cleanly_on("TERM", "SIGTERM received");
}

#[test]
fn sigint_stops_the_binary_with_exit_0() {
    stops_cleanly_on("INT", "SIGINT received");
}

fn stops_cleanly_on(signal: &str, logged: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_api-server"))
        .args(["--bind", "127.0.0.1:0", "--database-url"])
        .arg(dir.path().join("db.sqlite"))
        .env("RUST_LOG", "info")
        .env_remove("SCHEDULER_API_TOKEN")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let port = loop {
        line.clear();
        let read = stderr.read_line(&mut line).unwrap();
        assert_ne!(read, 0, "the server exited early");
        if let Some((_, rest)) = line.split_once("listening on http://127.0.0.1:") {
            break rest.split(' ').next().unwrap().to_owned();
        }
    };
    // Once it has answered a request, its signal handlers are installed.
    let mut stream = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Drain the log so the server never blocks on a full pipe while stopping.
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let exit = child.wait().unwrap();
    assert!(rest.contains(logged), "{rest}");
    assert!(rest.contains("stopped"), "{rest}");
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn the_in_process_tick_moves_due_logs() {
    let app = spawn_with(Backend::Sqlite, |c| c.tick_interval = Some(1)).await;
    app.account("acc", "instagram", "UTC").await;
    app.clip("clip").await;
    let r = app.schedule("clip", "acc", "2099-01-15T20:00:00Z").await;
    let id = r.body["publish_log_id"].as_str().unwrap().to_owned();
    app.make_due(&id);
    // Wait for the background tick (at most a minute; it runs every second).
    let mut status = String::new();
    for _ in 0..600 {
        status = app.get(&format!("/publishing/logs/{id}")).await.body["status"]
            .as_str()
            .unwrap()
            .to_owned();
        if status == "pending" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "pending");
    let events = app
        .get(&format!(
            "/ledger/events?entity_id={id}&event_type=publish_scheduled_enqueued"
        ))
        .await;
    assert_eq!(events.body.as_array().unwrap().len(), 1);
}

/// A SQLite file the server may only read, in a directory it may write: SQLite would open it
/// read-only without a word, and every write would fail. The server refuses to start instead.
#[cfg(unix)]
#[test]
fn a_database_file_it_may_not_write_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let (url, ()) = scheduler_testkit::read_only_sqlite(dir.path(), |_| ());
    let mut command =
        scheduler_testkit::unprivileged(env!("CARGO_BIN_EXE_api-server").as_ref(), dir.path());
    command
        .args(["--bind", "127.0.0.1:0", "--database-url", &url])
        .env_remove("SCHEDULER_API_TOKEN")
        .env_remove("DATABASE_URL");
    let mut server = scheduler_testkit::Process::spawn(command);
    // A server that started runs until stopped: wait a while, never forever.
    let status = server.wait(std::time::Duration::from_secs(30));
    // Its last words may still be on their way through the pipe.
    let stderr = (0..100)
        .map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            server.stderr()
        })
        .find(|text| text.contains("error:"))
        .unwrap_or_else(|| server.stderr());
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{stderr}");
    assert!(
        stderr.contains("failed to open the database") && stderr.contains("cannot be written"),
        "{stderr}"
    );
}
