//! Configuration checks at start: a bad rules file, a bad database URL, an open bind address
//! without a token.

use std::io::Write;

use api_server::{Application, Config};

fn config(dir: &tempfile::TempDir) -> Config {
    Config::new(
        "127.0.0.1:0",
        dir.path().join("db.sqlite").to_str().unwrap(),
    )
}

async fn start_error(config: Config) -> String {
    format!(
        "{:#}",
        Application::build(config)
            .await
            .expect_err("the start fails")
    )
}

#[tokio::test]
async fn bad_rules_file_names_file_platform_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut rules = tempfile::NamedTempFile::new().unwrap();
    writeln!(rules, "[platforms.instagram]\nstart_hour = 25").unwrap();
    let mut c = config(&dir);
    c.rules = Some(rules.path().to_owned());
    let error = start_error(c).await;
    assert!(error.contains(rules.path().to_str().unwrap()), "{error}");
    assert!(
        error.contains("instagram") && error.contains("start_hour"),
        "{error}"
    );

    let mut c = config(&dir);
    c.rules = Some(dir.path().join("missing.toml"));
    let error = start_error(c).await;
    assert!(error.contains("missing.toml"), "{error}");
}

#[tokio::test]
async fn bad_database_url() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&dir);
    c.database_url = "mysql://x/y".into();
    let error = start_error(c).await;
    assert!(error.contains("unsupported database URL"), "{error}");
    let mut c = config(&dir);
    c.database_url = "postgres://nobody@127.0.0.1:1/none".into();
    let error = start_error(c).await;
    assert!(error.contains("failed to open the database"), "{error}");
}

#[tokio::test]
async fn open_bind_needs_a_token_or_explicit_consent() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&dir);
    c.bind = "0.0.0.0:0".into();
    let error = start_error(c.clone()).await;
    assert!(
        error.contains("refusing to listen on 0.0.0.0:0 without an API token"),
        "{error}"
    );
    let mut with_token = c.clone();
    with_token.api_token = Some("t".into());
    assert!(Application::build(with_token).await.is_ok());
    let mut allowed = c.clone();
    allowed.allow_unauthenticated = true;
    assert!(Application::build(allowed).await.is_ok());
    let mut empty = config(&dir);
    empty.api_token = Some(" ".into());
    assert!(start_error(empty).await.contains("empty"));
}

#[test]
fn flags_and_environment() {
    use clap::Parser;
    let c = Config::try_parse_from([
        "api-server",
        "--bind",
        "0.0.0.0:9000",
        "--tick-interval",
        "30",
    ])
    .unwrap();
    assert_eq!(c.bind, "0.0.0.0:9000");
    assert_eq!(c.tick_interval, Some(30));
    assert!(Config::try_parse_from(["api-server", "--tick-interval", "0"]).is_err());
}
