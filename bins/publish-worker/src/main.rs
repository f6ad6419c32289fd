//! `publish-worker`: parse the command line, run until SIGTERM or SIGINT, map the result to an
//! exit code (0 drained, 1 failure with one line on stderr, 2 usage error from clap).

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use publish_worker::{one_line, run, Config};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

fn main() -> ExitCode {
    let config = Config::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match start(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("publish-worker: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

fn start(config: &Config) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the runtime")?;
    runtime.block_on(async {
        let (stop, stopped) = watch::channel(false);
        let mut term = signal(SignalKind::terminate()).context("failed to install SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("failed to install SIGINT")?;
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            log::info!("signal received: claiming nothing more, finishing the posts held");
            let _ = stop.send(true);
            // A second signal: stop now (the posts held become unconfirmed when their leases
            // run out).
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            eprintln!("publish-worker: second signal: exiting without finishing");
            std::process::exit(1);
        });
        run(config, stopped).await
    })
}
