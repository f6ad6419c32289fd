//! The command as an operator meets it: bad flags, a bad URL, and SIGTERM with nothing held.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn worker(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_publish-worker"));
    command
        .env_clear()
        .env("RUST_LOG", "info")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[test]
fn bad_flags_are_usage_errors_and_a_bad_url_is_named() {
    let out = worker(&[
        "--publisher-url",
        "http://127.0.0.1:9/p",
        "--concurrency",
        "0",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = worker(&[]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "--publisher-url is required: {out:?}"
    );
    let out = worker(&["--publisher-url", "not a url"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--publisher-url \"not a url\" is not a URL"),
        "{stderr}"
    );
}

#[test]
fn sigterm_with_nothing_held_exits_at_once() {
    // No api-server answers there: the worker keeps trying, and stops when told.
    let mut child = worker(&[
        "--api-url",
        "http://127.0.0.1:9",
        "--publisher-url",
        "http://127.0.0.1:9/publish",
        "--poll-interval",
        "0.1",
    ])
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
