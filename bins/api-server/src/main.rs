//! `api-server`: the HTTP API of the publishing scheduler. Configuration comes from flags and
//! environment variables (`api-server --help`); the log level from `RUST_LOG` (default
//! `info`, one line per request).

use std::process::ExitCode;

use anyhow::Context;
use api_server::{Application, Config};
use clap::Parser;

#[actix_web::main]
async fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let config = Config::parse();
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("api-server: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let app = Application::build(config)
        .await
        .context("failed to start the server")?;
    app.run_until_stopped()
        .await
        .context("failed to run the server")
}
