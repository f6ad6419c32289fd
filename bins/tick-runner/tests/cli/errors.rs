//! Failures: exit code 1 with one line on stderr and nothing on stdout; usage errors: 2.

use std::process::Output;

use crate::support::{missing_file, tick_runner};

fn run_with_url(url: &str) -> Output {
    tick_runner()
        .args(["--database-url", url])
        .output()
        .unwrap()
}

/// Exit code 1, nothing on stdout, and a last stderr line that says `expected`.
fn assert_fails_with(output: &Output, expected: &str) {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("tick-runner: "), "{stderr}");
    assert!(last.contains(expected), "{stderr}");
}

#[test]
fn missing_sqlite_file_is_an_error_and_is_not_created() {
    let (path, _dir) = missing_file();
    let output = run_with_url(path.to_str().unwrap());
    assert_fails_with(&output, "database file not found");
    assert!(!path.exists(), "tick-runner created {}", path.display());

    let output = run_with_url(&format!("sqlite://{}", path.display()));
    assert_fails_with(&output, "database file not found");
    assert!(!path.exists());
}

#[test]
fn missing_schema_is_an_error_and_nothing_is_written() {
    let (path, _dir) = missing_file();
    std::fs::write(&path, b"").unwrap();
    for dry_run in [&["--dry-run"][..], &[]] {
        let output = tick_runner()
            .arg("--database-url")
            .arg(&path)
            .args(dry_run)
            .output()
            .unwrap();
        assert_fails_with(&output, "schema is missing");
        // Checking the schema reads only: the empty file stays empty.
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "{dry_run:?}");
    }
}

#[test]
fn unsupported_url_is_a_usage_error() {
    let output = run_with_url("mysql://localhost/db");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("unsupported database URL"), "{stderr}");
}

#[test]
fn unreachable_server_is_an_error() {
    // Port 1 on the loopback interface: nothing listens there.
    let output = run_with_url("postgres://nobody:secret@127.0.0.1:1/nothing");
    assert_fails_with(&output, "cannot connect");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!stderr.contains("secret"), "the password leaked: {stderr}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["--batch-size", "0"][..],
        &["--batch-size", "many"],
        &["--interval", "0"],
        &["--no-such-flag"],
        &["extra"],
    ] {
        let output = tick_runner().args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(output.stdout.is_empty());
        assert!(!output.stderr.is_empty());
    }
    let help = tick_runner().arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8(help.stdout)
        .unwrap()
        .contains("--interval"));
}
