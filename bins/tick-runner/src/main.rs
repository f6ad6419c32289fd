//! `tick-runner`: parse the command line, install the signal handlers, run, map the result to
//! an exit code (0 done, 1 failure with one line on stderr, 2 usage error from clap).

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use tick_runner::{one_line, run, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match start(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tick-runner: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

fn start(cli: &Cli) -> Result<()> {
    let config = cli.config()?;
    let stop = Arc::new(AtomicBool::new(false));
    for &signal in signal_hook::consts::TERM_SIGNALS {
        // A second signal while the first is being honoured exits at once, with status 1.
        signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&stop))
            .context("failed to install the signal handlers")?;
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("failed to install the signal handlers")?;
    }
    run(&config, &stop, &mut std::io::stdout().lock())
}
