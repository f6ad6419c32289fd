//! The tick as a command: one tick and exit (for crontab), or a tick every `--interval`
//! seconds until SIGTERM or SIGINT (for systemd).
//!
//! `main` only parses the command line, installs the signal handlers, calls [`run`] and maps
//! its result to an exit code; everything else is here so that it can be tested.
//!
//! Long because its unit tests (the command line, the tick boundaries, the output line, the
//! one-line errors) sit beside what they pin; the code itself is about 345 lines.
//!
//! - stdout: one JSON line per tick, the shape of the API's tick endpoint,
//!   `{"moved":N,"dry_run":false,"log_ids":[…],…}`.
//! - stderr: logs (`RUST_LOG`, default `info`) and, on failure, one line with the cause.
//! - The database is never created or migrated here: a missing SQLite file or a schema that is
//!   not fully migrated is an error.
//!
//! A little over 400 lines with its unit tests (the command line, the output line, the
//! interval boundaries); the program itself is under 350.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use chrono::{TimeDelta, Utc};
use clap::Parser;
use scheduler_core::RuleSet;
use scheduler_store::tick::DEFAULT_BATCH_SIZE;
use scheduler_store::{DatabaseUrl, Db, Mode, OpenOptions, TickOutcome};
use scheduler_webhooks::{self as webhooks, Deliverer, RetrySchedule};

/// How often the loop wakes up while it waits for the next tick, to notice a stop request.
const STOP_POLL: Duration = Duration::from_millis(50);

/// How long a tick waits for a connection before it fails (and, in loop mode, is retried).
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// Moves the publish logs that are due to `pending`, once or every `--interval` seconds.
#[derive(Debug, Clone, Parser)]
#[command(name = "tick-runner", version, about, long_about = None)]
pub struct Cli {
    /// The database: a SQLite file path, sqlite://PATH, or postgres://… (a missing SQLite
    /// file is an error; this program never creates a database).
    // `hide_env_values`: `--help` must not print a password from the environment.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "scheduler.db",
        value_parser = DatabaseUrlParser
    )]
    pub database_url: DatabaseUrl,

    /// A TOML rules file that adds platforms or overrides the defaults: the api-server's, whose
    /// windows, gaps and `series_horizon_days` plan the series occurrences a tick makes.
    #[arg(long, env = "SCHEDULER_RULES")]
    pub rules: Option<PathBuf>,

    /// List the due logs without moving them.
    #[arg(long)]
    pub dry_run: bool,

    /// Logs moved per transaction (at least 1).
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,

    /// Tick every SECS seconds (on multiples of SECS since the Unix epoch) until SIGTERM or
    /// SIGINT, instead of ticking once.
    //
    // Deliberately not read from the environment: a stray variable would turn a crontab entry
    // into a new process every minute that never exits.
    #[arg(long, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub interval: Option<u64>,

    /// Deliver webhooks too: after each tick when ticking once, all along with `--interval`.
    #[arg(long, conflicts_with = "dry_run")]
    pub webhooks: bool,

    /// The waits between webhook attempts; after the last, a delivery is `failed`.
    #[arg(
        long,
        value_name = "WAITS",
        default_value = "5s,5m,30m,2h,5h,10h,10h",
        requires = "webhooks"
    )]
    pub webhook_retry_schedule: RetrySchedule,

    /// Let webhooks go to loopback, private and link-local addresses.
    #[arg(long, requires = "webhooks")]
    pub allow_private_webhooks: bool,

    /// Testing only: shift the host clock by SECS seconds (negative: behind). SQLite decides
    /// what is due by the host clock; PostgreSQL by its own and ignores this.
    #[arg(
        long,
        value_name = "SECS",
        hide = true,
        allow_negative_numbers = true,
        default_value_t = 0
    )]
    pub host_clock_offset: i64,
}

/// What [`run`] does, parsed and checked.
#[derive(Debug, Clone)]
pub struct Config {
    /// The database.
    pub database_url: DatabaseUrl,
    /// Count and list only.
    pub dry_run: bool,
    /// The rules series occurrences are planned by.
    pub rules: Arc<RuleSet>,
    /// Whether they came from a file (`--rules`) rather than the built-in defaults.
    pub rules_given: bool,
    /// Logs (and series) per transaction.
    pub batch_size: u32,
    /// `None`: tick once. `Some`: tick on every multiple of this since the epoch.
    pub interval: Option<Duration>,
    /// Added to the host clock (tests simulate a skewed host with it).
    pub host_clock_offset: TimeDelta,
    /// How to deliver webhooks; `None`: not at all.
    pub webhooks: Option<webhooks::Config>,
}

impl Cli {
    /// The configuration, with the rules file read; the error names the file (and the
    /// platform and field).
    pub fn config(&self) -> Result<Config> {
        let rules = match &self.rules {
            None => RuleSet::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("failed to read the rules file {}", path.display()))?;
                RuleSet::from_toml(&text)
                    .with_context(|| format!("invalid rules file {}", path.display()))?
            }
        };
        Ok(Config {
            database_url: self.database_url.clone(),
            rules: Arc::new(rules),
            rules_given: self.rules.is_some(),
            dry_run: self.dry_run,
            batch_size: self.batch_size,
            interval: self.interval.map(Duration::from_secs),
            host_clock_offset: TimeDelta::seconds(self.host_clock_offset),
            webhooks: self.webhooks.then(|| webhooks::Config {
                schedule: self.webhook_retry_schedule.clone(),
                allow_private: self.allow_private_webhooks,
                ..webhooks::Config::default()
            }),
        })
    }
}

/// Parses `--database-url` as the store does, so that a URL it does not understand is a usage
/// error (exit 2). clap's own message would repeat the value, password included; this one
/// names only what the store shows of it (see [`DatabaseUrl`]'s `Display`).
#[derive(Debug, Clone, Copy)]
struct DatabaseUrlParser;

impl clap::builder::TypedValueParser for DatabaseUrlParser {
    type Value = DatabaseUrl;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> std::result::Result<DatabaseUrl, clap::Error> {
        let invalid = |message: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid --database-url: {message}\n"),
            )
            .with_cmd(cmd)
        };
        let text = value
            .to_str()
            .ok_or_else(|| invalid("it is not UTF-8".to_owned()))?;
        DatabaseUrl::parse(text).map_err(|e| invalid(e.to_string()))
    }
}

/// Runs the configured ticks, writing one JSON line per tick to `out`.
///
/// Once mode: opens the database, checks the schema, ticks, returns; any failure is an error.
///
/// Loop mode: the same opening and check (a failure there is an error: a wrong URL or a
/// missing schema will not fix itself), then a tick on every interval boundary until `stop`
/// is set. A tick that fails is logged and retried at the next boundary, since a database
/// that went away may come back; the process keeps running. `stop` is checked between ticks
/// and every [`STOP_POLL`] while waiting, never inside a tick, so a stop request lets the
/// running tick commit its batches and then returns `Ok`.
pub fn run(config: &Config, stop: &Arc<AtomicBool>, out: &mut impl Write) -> Result<()> {
    let db = open(config)?;
    if !config.rules_given {
        log::info!(
            "no --rules: series occurrences are planned by the built-in rules (give the \
             api-server's rules file if it has one)"
        );
    }
    let deliverer = config
        .webhooks
        .clone()
        .map(|c| Deliverer::new(db.clone(), c))
        .transpose()?;
    let Some(interval) = config.interval else {
        tick_once(&db, config, out)?;
        if let Some(deliverer) = deliverer {
            runtime()?
                .block_on(deliverer.pass())
                .context("failed to deliver webhooks")?;
        }
        return Ok(());
    };
    let delivering = deliverer.map(|d| deliver_until_stopped(d, Arc::clone(stop)));
    log::info!(
        "ticking {} every {}s{}",
        db.url().describe(),
        interval.as_secs(),
        if config.dry_run { " (dry run)" } else { "" }
    );
    while !stop.load(Ordering::SeqCst) {
        if let Err(e) = tick_once(&db, config, out) {
            log::error!("{}; retrying at the next interval", one_line(&e));
        }
        sleep_until(next_boundary(SystemTime::now(), interval), stop);
    }
    if let Some(delivering) = delivering {
        log::info!("stop requested; finishing the webhook deliveries in flight");
        delivering?
            .join()
            .map_err(|_| anyhow::anyhow!("the webhook deliverer panicked"))?;
    }
    log::info!("stop requested; exiting");
    Ok(())
}

/// A runtime for the deliverer: one thread, and the blocking pool its database calls run on.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the webhook deliverer's runtime")
}

/// Delivers webhooks on a thread of its own until `stop` is set; the thread ends once the
/// deliveries in flight have finished.
fn deliver_until_stopped(
    deliverer: Deliverer,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>> {
    let runtime = runtime()?;
    std::thread::Builder::new()
        .name("webhooks".into())
        .spawn(move || {
            runtime.block_on(deliverer.run(async move {
                while !stop.load(Ordering::SeqCst) {
                    tokio::time::sleep(STOP_POLL).await;
                }
            }));
        })
        .context("failed to start the webhook deliverer's thread")
}

/// Opens the pool, never creating a SQLite file, after checking that the schema is migrated;
/// a dry run opens it read-only and writes nothing, so it also works on a read-only replica.
fn open(config: &Config) -> Result<Db> {
    let options = OpenOptions {
        mode: if config.dry_run {
            Mode::ReadOnly
        } else {
            Mode::ReadWrite
        },
        // The deliverer reads and writes for several subscriptions at once.
        max_connections: if config.webhooks.is_some() { 4 } else { 1 },
        connection_timeout: CONNECTION_TIMEOUT,
        ..OpenOptions::default()
    };
    Db::open(&config.database_url, &options).context("failed to open the database")
}

/// One tick and its JSON line.
fn tick_once(db: &Db, config: &Config, out: &mut impl Write) -> Result<()> {
    let host_now = Utc::now() + config.host_clock_offset;
    let outcome = db
        .tick_blocking(&config.rules, config.batch_size, config.dry_run, host_now)
        .context("failed to tick")?;
    write_line(out, &outcome).context("failed to write the tick's result to stdout")?;
    if outcome.moved > 0 || outcome.occurrences_made > 0 {
        let (verb, made) = if outcome.dry_run {
            ("due", "to make")
        } else {
            ("moved to pending", "made")
        };
        log::info!(
            "{} logs {verb}, {} series occurrences {made}",
            outcome.moved,
            outcome.occurrences_made
        );
    } else {
        log::debug!("nothing due");
    }
    Ok(())
}

/// One line of output: the API tick endpoint's JSON.
fn write_line(out: &mut impl Write, outcome: &TickOutcome) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, outcome)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The first multiple of `interval` since the Unix epoch strictly after `now`. Boundaries do
/// not drift with the tick's duration, and a tick longer than the interval skips the missed
/// boundaries instead of running late ticks back to back (the next tick moves everything due).
pub fn next_boundary(now: SystemTime, interval: Duration) -> SystemTime {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let step = interval.as_nanos().max(1);
    let next = (since_epoch.as_nanos() / step + 1) * step;
    let next = u64::try_from(next).unwrap_or(u64::MAX);
    UNIX_EPOCH + Duration::from_nanos(next)
}

/// Sleeps until `deadline` or until `stop` is set, whichever comes first.
fn sleep_until(deadline: SystemTime, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let Ok(left) = deadline.duration_since(SystemTime::now()) else {
            return;
        };
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(STOP_POLL));
    }
}

/// An error and its causes on one line (`failed to open the database: cannot connect …`).
pub fn one_line(error: &anyhow::Error) -> String {
    format!("{error:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults() {
        let cli = Cli::try_parse_from(["tick-runner"]).unwrap();
        let config = cli.config().unwrap();
        assert_eq!(
            config.database_url,
            DatabaseUrl::Sqlite("scheduler.db".into())
        );
        assert_eq!(config.batch_size, 500);
        assert!(!config.dry_run);
        assert!(config.interval.is_none());
    }

    #[test]
    fn refuses_a_zero_batch_size_and_interval() {
        assert!(Cli::try_parse_from(["tick-runner", "--batch-size", "0"]).is_err());
        assert!(Cli::try_parse_from(["tick-runner", "--interval", "0"]).is_err());
    }

    #[test]
    fn an_unsupported_url_is_a_usage_error_that_hides_the_password() {
        let error = Cli::try_parse_from(["tick-runner", "--database-url", "mysql://u:secret@h/db"])
            .unwrap_err();
        assert_eq!(error.exit_code(), 2);
        let message = error.to_string();
        assert!(message.contains("unsupported database URL"), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }

    #[test]
    fn boundaries_are_multiples_of_the_interval() {
        let at = |secs: u64, millis: u64| UNIX_EPOCH + Duration::from_millis(secs * 1000 + millis);
        let minute = Duration::from_secs(60);
        assert_eq!(next_boundary(at(120, 0), minute), at(180, 0));
        assert_eq!(next_boundary(at(179, 999), minute), at(180, 0));
        assert_eq!(next_boundary(at(5, 1), Duration::from_secs(1)), at(6, 0));
    }

    #[test]
    fn writes_the_endpoint_shape() {
        let mut out = Vec::new();
        let outcome = TickOutcome {
            moved: 2,
            dry_run: false,
            log_ids: vec!["log_a".into(), "log_b".into()],
            leases_expired: 1,
            expired_log_ids: vec!["log_c".into()],
            occurrences_made: 4,
            late_by: Some(chrono::TimeDelta::seconds(3)),
        };
        write_line(&mut out, &outcome).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"moved\":2,\"dry_run\":false,\"log_ids\":[\"log_a\",\"log_b\"],\
             \"leases_expired\":1,\"expired_log_ids\":[\"log_c\"],\"occurrences_made\":4}\n"
        );
    }

    #[test]
    fn one_line_joins_causes_and_lines() {
        let error = anyhow::anyhow!("server said:\n  no\n").context("failed to tick");
        assert_eq!(one_line(&error), "failed to tick: server said: no");
    }
}
