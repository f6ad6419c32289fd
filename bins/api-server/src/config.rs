//! The server's configuration: command-line flags, each with an environment variable.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Parser;
use scheduler_core::RuleSet;
use scheduler_webhooks::RetrySchedule;

/// The api-server's configuration (`api-server --help`).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "api-server",
    version,
    about = "The HTTP API of the publishing scheduler"
)]
pub struct Config {
    /// Address to listen on (`HOST:PORT`; port 0 picks a free port).
    #[arg(long, env = "SCHEDULER_BIND", default_value = "127.0.0.1:8000")]
    pub bind: String,

    /// The database: a SQLite file path, `sqlite://PATH`, or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = "scheduler.db")]
    pub database_url: String,

    /// A TOML rules file that adds platforms or overrides the defaults.
    #[arg(long, env = "SCHEDULER_RULES")]
    pub rules: Option<PathBuf>,

    /// Require `Authorization: Bearer <token>` on every endpoint but /healthz and
    /// /openapi.json.
    #[arg(long, env = "SCHEDULER_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,

    /// Allow a non-loopback bind address without an API token.
    #[arg(long, env = "SCHEDULER_ALLOW_UNAUTHENTICATED")]
    pub allow_unauthenticated: bool,

    /// Run the tick inside the server every SECS seconds (off by default).
    #[arg(long, env = "SCHEDULER_TICK_INTERVAL", value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub tick_interval: Option<u64>,

    /// Origins (`https://host[:port]`, comma-separated) whose web pages may call the API,
    /// besides the server's own; a page of any other origin gets 403.
    #[arg(
        long,
        env = "SCHEDULER_CORS_ORIGINS",
        value_name = "ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Do not deliver webhooks from this server (another server or `tick-runner --webhooks`
    /// does).
    #[arg(long, env = "SCHEDULER_NO_WEBHOOKS")]
    pub no_webhooks: bool,

    /// The waits between webhook attempts; after the last, a delivery is `failed`.
    #[arg(
        long,
        env = "SCHEDULER_WEBHOOK_RETRY_SCHEDULE",
        value_name = "WAITS",
        default_value = "5s,5m,30m,2h,5h,10h,10h"
    )]
    pub webhook_retry_schedule: RetrySchedule,

    /// Let webhooks go to loopback, private and link-local addresses (for a receiver on the
    /// same machine or network; never on a server whose users are not trusted with it).
    #[arg(long, env = "SCHEDULER_ALLOW_PRIVATE_WEBHOOKS")]
    pub allow_private_webhooks: bool,

    /// Largest number of pooled database connections.
    #[arg(long, env = "SCHEDULER_DB_POOL_SIZE", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub db_pool_size: u32,

    /// How long a request waits for a database connection before answering 503.
    #[arg(long, env = "SCHEDULER_DB_TIMEOUT", value_name = "SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub db_timeout: u64,
}

impl Config {
    /// A configuration with the defaults, for embedding and tests.
    pub fn new(bind: impl Into<String>, database_url: impl Into<String>) -> Self {
        Self {
            bind: bind.into(),
            database_url: database_url.into(),
            rules: None,
            api_token: None,
            allow_unauthenticated: false,
            tick_interval: None,
            cors_origins: Vec::new(),
            db_pool_size: 16,
            db_timeout: 10,
            no_webhooks: false,
            webhook_retry_schedule: RetrySchedule::default(),
            allow_private_webhooks: false,
        }
    }

    /// The rules: the defaults, or the rules file merged over them. The error names the file
    /// (and, from [`RuleSet::from_toml`], the platform and field).
    pub fn load_rules(&self) -> anyhow::Result<RuleSet> {
        let Some(path) = &self.rules else {
            return Ok(RuleSet::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read the rules file {}", path.display()))?;
        RuleSet::from_toml(&text).with_context(|| format!("invalid rules file {}", path.display()))
    }

    /// The token without surrounding whitespace (a token read from a file keeps its final
    /// newline), refusing one that no `Authorization` header can carry as a bearer token: empty,
    /// or with a character other than visible ASCII (a space inside, a control character,
    /// non-ASCII), which every request would then fail to match.
    pub fn token(&self) -> anyhow::Result<Option<String>> {
        let Some(token) = self.api_token.as_deref().map(str::trim) else {
            return Ok(None);
        };
        if token.is_empty() {
            bail!("the API token is empty: give a non-empty --api-token or none");
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            bail!(
                "the API token has a character an Authorization header cannot carry: use \
                 visible ASCII only (letters, digits, punctuation; no spaces)"
            );
        }
        Ok(Some(token.to_owned()))
    }

    /// The addresses `bind` resolves to; refuses a non-loopback one without a token unless
    /// unauthenticated access is allowed explicitly.
    pub fn bind_addrs(&self) -> anyhow::Result<Vec<SocketAddr>> {
        let addrs: Vec<SocketAddr> = self
            .bind
            .to_socket_addrs()
            .with_context(|| format!("invalid bind address {:?}: use HOST:PORT", self.bind))?
            .collect();
        if addrs.is_empty() {
            bail!("bind address {:?} resolves to no address", self.bind);
        }
        let public = addrs.iter().any(|a| !a.ip().is_loopback());
        if public && self.token()?.is_none() && !self.allow_unauthenticated {
            bail!(
                "refusing to listen on {} without an API token: set --api-token \
                 (SCHEDULER_API_TOKEN), or pass --allow-unauthenticated to serve without one",
                self.bind
            );
        }
        Ok(addrs)
    }
}
