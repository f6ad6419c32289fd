//! `publish-worker`: claims pending posts from an api-server, hands each to the user's
//! publisher adapter (an HTTP endpoint that talks to the platform), and reports the outcome,
//! heartbeating while the adapter works (contract section 8).
//!
//! What the adapter answers decides the report: 2xx → complete (its JSON body may give
//! `platform_post_id`, `permalink`, `metrics`); 429 → `rate_limited` with its `Retry-After`;
//! 408 and 5xx → `retryable`; other answers → `permanent`. No connection → `retryable` (the
//! post never left); a timeout or a broken connection after the request was sent →
//! `unknown`: the post may be on the platform, and a person decides. The worker never
//! retries a publish by itself: the api-server plans retries.
//!
//! The library is the whole worker, so other Rust programs can embed it: [`Config`] and
//! [`run`].

mod api;
mod publisher;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

pub use api::{Api, Beat, ClaimedLog, Refused, Report};
pub use publisher::{outcome_of, Outcome};

/// How long a claim waits for more slots to free up while most are busy.
const CLAIM_GATHER: Duration = Duration::from_millis(20);

/// The command line (each flag also reads an environment variable).
#[derive(Debug, Clone, Parser)]
#[command(name = "publish-worker", version, about)]
pub struct Config {
    /// The api-server to claim from.
    #[arg(
        long,
        env = "SCHEDULER_API_URL",
        default_value = "http://127.0.0.1:8000"
    )]
    pub api_url: String,
    /// The api-server's bearer token, if it has one.
    #[arg(long, env = "SCHEDULER_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,
    /// The user's adapter: each claimed post is POSTed there as JSON.
    #[arg(long, env = "PUBLISHER_URL")]
    pub publisher_url: String,
    /// Posts published at once.
    #[arg(long, env = "WORKER_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub concurrency: u32,
    /// The lease asked for each claim, in seconds; a heartbeat renews it every third of it.
    #[arg(long, env = "WORKER_LEASE_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u32).range(10..=3600))]
    pub lease_seconds: u32,
    /// Only these platforms (comma-separated); default any.
    #[arg(long, env = "WORKER_PLATFORMS", value_delimiter = ',')]
    pub platforms: Vec<String>,
    /// Who this worker is in the logs and events; default `<host>-<pid>`.
    #[arg(long, env = "WORKER_ID")]
    pub worker_id: Option<String>,
    /// How long to wait before claiming again when nothing was pending, in seconds.
    #[arg(long, env = "WORKER_POLL_INTERVAL", default_value_t = 2.0)]
    pub poll_interval: f64,
    /// How long the adapter may take for one post, in seconds; after that the attempt is
    /// `unknown` (the post may be up).
    #[arg(long, env = "WORKER_PUBLISH_TIMEOUT", default_value_t = 120.0)]
    pub publish_timeout: f64,
}

impl Config {
    /// The worker id: the one given, or `<host>-<pid>`.
    pub fn worker_id(&self) -> String {
        self.worker_id.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "worker".to_owned());
            format!("{host}-{}", std::process::id())
        })
    }

    fn seconds(name: &str, value: f64) -> Result<Duration> {
        Duration::try_from_secs_f64(value)
            .ok()
            .filter(|d| !d.is_zero())
            .with_context(|| format!("--{name} must be a positive number of seconds"))
    }
}

/// Runs the worker until `stop` turns true: then it claims nothing more, finishes the posts
/// it holds (each ends with its report) and returns.
pub async fn run(config: &Config, mut stop: watch::Receiver<bool>) -> Result<()> {
    let poll = Config::seconds("poll-interval", config.poll_interval)?;
    let publish_timeout = Config::seconds("publish-timeout", config.publish_timeout)?;
    let api = Api::new(&config.api_url, config.api_token.as_deref())?;
    let publisher = publisher::Publisher::new(&config.publisher_url, publish_timeout)?;
    let worker_id = config.worker_id();
    log::info!(
        "publish-worker {worker_id}: claiming from {} for {} ({} at once)",
        config.api_url,
        config.publisher_url,
        config.concurrency
    );
    let slots = Arc::new(Semaphore::new(config.concurrency as usize));
    let mut held = JoinSet::new();
    let lease = Duration::from_secs(u64::from(config.lease_seconds));
    while !*stop.borrow() {
        // Wait for a free slot (or the stop).
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => permit.context("the slots closed")?,
            _ = stop.changed() => break,
        };
        // While most slots are busy, a moment's wait lets a few more free up, so that one
        // claim takes several posts: a claim is a transaction, and one per post would be the
        // worker's largest cost when the adapter is fast.
        if (slots.available_permits() as u32 + 1) * 2 < config.concurrency {
            tokio::select! {
                _ = tokio::time::sleep(CLAIM_GATHER) => {}
                _ = stop.changed() => {}
            }
        }
        let free = 1 + slots.available_permits() as u32;
        let claims = match api
            .claim(&worker_id, free, config.lease_seconds, &config.platforms)
            .await
        {
            Ok(claims) => claims,
            Err(e) if e.is::<api::Refused>() => return Err(e),
            Err(e) => {
                log::warn!("claim failed: {e:#}");
                Vec::new()
            }
        };
        if claims.is_empty() {
            drop(permit);
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let mut permit = Some(permit);
        let claimed_at = Instant::now();
        for claim in claims {
            // The first claim takes the permit already held; the others take free ones, which
            // the claim's limit keeps there. A server that answered more than was asked gets
            // the extras back unsent.
            let permit = match permit.take() {
                Some(p) => Some(p),
                None => Arc::clone(&slots).try_acquire_owned().ok(),
            };
            let (api, publisher) = (api.clone(), publisher.clone());
            held.spawn(async move {
                match permit {
                    Some(permit) => {
                        handle(&api, &publisher, claim, lease, claimed_at).await;
                        drop(permit);
                    }
                    None => {
                        not_sent(&api, &claim, "the worker had no free slot for it", lease).await
                    }
                }
            });
        }
        // Reap the finished ones, so that a long run does not keep their results.
        while held.try_join_next().is_some() {}
    }
    log::info!("stopping: finishing the {} posts held", held.len());
    while held.join_next().await.is_some() {}
    Ok(())
}

/// One claimed post: publish it through the adapter, heartbeating meanwhile, and report.
async fn handle(
    api: &Api,
    publisher: &publisher::Publisher,
    claim: ClaimedLog,
    lease: Duration,
    claimed_at: Instant,
) {
    let id = claim.id().to_owned();
    // A claim that waited for a slot for half its lease is not sent: the lease may end while
    // the adapter works, and the post would be up with nobody holding it.
    if claimed_at.elapsed() > lease / 2 {
        let why = "the worker held the claim too long before a slot was free";
        return not_sent(api, &claim, why, lease).await;
    }
    let heartbeat = {
        let (api, id, token) = (api.clone(), id.clone(), claim.lease_token.clone());
        let every = lease / 3;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match api.heartbeat(&id, &token, lease).await {
                    Ok(Beat::Held) => {}
                    Ok(Beat::Lost) => {
                        log::error!(
                            "{id}: the lease was lost while the adapter was publishing; \
                             the post will wait for a person (unconfirmed)"
                        );
                        return;
                    }
                    Err(e) => log::warn!("{id}: heartbeat failed: {e:#}"),
                }
            }
        })
    };
    let outcome = publisher.publish(&claim).await;
    heartbeat.abort();
    log::info!("{id}: attempt {} {}", claim.attempt, outcome.describe());
    api.report(&id, &claim.lease_token, &Report::from(outcome), lease)
        .await;
}

/// Gives a claim back unsent: `retryable` (the post never left), with `why`.
async fn not_sent(api: &Api, claim: &ClaimedLog, why: &str, lease: Duration) {
    let outcome = Outcome::Failed {
        kind: "retryable",
        error: format!("not sent: {why}"),
        retry_after: None,
    };
    api.report(
        claim.id(),
        &claim.lease_token,
        &Report::from(outcome),
        lease,
    )
    .await;
}

/// One line for an error and its causes.
pub fn one_line(error: &anyhow::Error) -> String {
    format!("{error:#}").replace('\n', " ")
}

/// Parses the command line; for `main` and for tests.
pub fn parse_config<I, T>(args: I) -> Result<Config, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Config::try_parse_from(args)
}
