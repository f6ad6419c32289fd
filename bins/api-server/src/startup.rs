//! Building and running the server: the database, the rules, the listener, the middleware and
//! the optional in-process tick.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_http::{HttpService, KeepAlive, Request, Response};
use actix_service::{
    fn_service, map_config, IntoServiceFactory, Service, ServiceFactory, ServiceFactoryExt,
};
use actix_web::body::MessageBody;
use actix_web::dev::{AppConfig, Server};
use actix_web::error::DispatchError;
use actix_web::middleware::{from_fn, ErrorHandlers, Logger};
use actix_web::rt::net::TcpStream;
use actix_web::web;
use anyhow::Context;
use chrono::Utc;
use scheduler_core::RuleSet;
use scheduler_store::tick::DEFAULT_BATCH_SIZE;
use scheduler_store::{DatabaseUrl, Db, Mode, OpenOptions};
use scheduler_webhooks::{self as webhooks, Deliverer};

use crate::config::Config;
use crate::cors::{check_origin, AllowedOrigins};
use crate::error::ApiError;
use crate::input::BODY_LIMIT;
use crate::metrics::{record_request, Metrics};
use crate::middleware::{
    head_as_get, json_error_body, refuse_large_bodies, refuse_unknown_parameters, require_token,
    AuthToken,
};
use crate::protocol_errors::JsonErrors;
use crate::routes;
use crate::state::AppState;

/// A server bound to its listener, ready to run.
pub struct Application {
    port: u16,
    server: Server,
    db: Db,
    rules: Arc<RuleSet>,
    tick_interval: Option<Duration>,
    metrics: web::Data<Metrics>,
    deliverer: Option<Deliverer>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .field("db", &self.db)
            .field("tick_interval", &self.tick_interval)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Checks the configuration, reads the rules, opens the database (creating a missing
    /// SQLite file), runs the embedded migrations and binds the listener. The error says what
    /// failed in words a person understands.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let rules = config.load_rules()?;
        let token = config.token()?;
        let addrs = config.bind_addrs()?;
        let origins = AllowedOrigins::parse(
            &config.cors_origins,
            token.is_none() && !config.allow_unauthenticated,
        )
        .map_err(anyhow::Error::msg)?
        .with_token(token.is_some());
        let url = DatabaseUrl::parse(&config.database_url).context("invalid database URL")?;
        let options = OpenOptions {
            mode: Mode::Migrate,
            max_connections: config.db_pool_size,
            connection_timeout: Duration::from_secs(config.db_timeout),
            ..OpenOptions::default()
        };
        let db = tokio::task::spawn_blocking(move || {
            Db::open(&url, &options).with_context(|| format!("failed to open the database {url}"))
        })
        .await
        .context("failed to open the database")??;
        let listener = TcpListener::bind(&addrs[..])
            .with_context(|| format!("failed to listen on {}", config.bind))?;
        let local = listener.local_addr()?;
        // Installed now, so a signal that arrives once the server is up is never missed.
        let stop = stop_signal().context("failed to install the SIGTERM/SIGINT handlers")?;
        log::info!(
            "listening on http://{local} ({}, {})",
            db.url().describe(),
            if token.is_some() {
                "bearer token required"
            } else {
                "no authentication"
            },
        );
        let rules = Arc::new(rules);
        let state = AppState {
            db: db.clone(),
            rules: Arc::clone(&rules),
            allow_private_webhooks: config.allow_private_webhooks,
        };
        let auth = AuthToken::new(token.as_deref());
        let metrics = web::Data::new(Metrics::new());
        let deliverer = if config.no_webhooks {
            None
        } else {
            let deliverer = Deliverer::new(
                db.clone(),
                webhooks::Config {
                    schedule: config.webhook_retry_schedule.clone(),
                    allow_private: config.allow_private_webhooks,
                    ..webhooks::Config::default()
                },
            )?;
            metrics.watch_webhooks(deliverer.stats());
            Some(deliverer)
        };
        let app_metrics = metrics.clone();
        let server = serve(listener, stop, move || {
            routes::app(state.clone())
                .app_data(web::Data::new(auth.clone()))
                .app_data(web::Data::new(origins.clone()))
                .app_data(app_metrics.clone())
                .app_data(web::PayloadConfig::new(BODY_LIMIT))
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|e, _| ApiError::not_found(e.to_string()).into()),
                )
                .wrap(ErrorHandlers::new().default_handler(json_error_body))
                .wrap(from_fn(refuse_unknown_parameters))
                .wrap(from_fn(refuse_large_bodies))
                .wrap(from_fn(require_token))
                .wrap(from_fn(check_origin))
                .wrap(from_fn(head_as_get))
                .wrap(from_fn(record_request))
                .wrap(
                    Logger::new("%{method}xi %U %s %Dms")
                        .custom_request_replace("method", |req| req.method().to_string()),
                )
        })
        .with_context(|| format!("failed to listen on {local}"))?;
        Ok(Self {
            port: local.port(),
            server,
            db,
            rules,
            tick_interval: config.tick_interval.map(Duration::from_secs),
            metrics,
            deliverer,
        })
    }

    /// The port the server listens on (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or SIGINT, then lets in-flight requests finish. With a tick
    /// interval, ticks in the background meanwhile; unless webhooks are off, delivers them, and
    /// once the server has stopped lets the deliveries in flight finish (within their timeout).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let ticker = self.tick_interval.map(|every| {
            tokio::spawn(tick_loop(
                self.db.clone(),
                Arc::clone(&self.rules),
                every,
                self.metrics.clone(),
            ))
        });
        let (stop_delivering, stopped) = tokio::sync::oneshot::channel::<()>();
        let delivering = self.deliverer.map(|deliverer| {
            tokio::spawn(deliverer.run(async {
                let _ = stopped.await;
            }))
        });
        let result = self.server.await;
        if let Some(ticker) = ticker {
            ticker.abort();
        }
        if let Some(delivering) = delivering {
            let _ = stop_delivering.send(());
            let _ = delivering.await;
        }
        log::info!("stopped");
        result
    }
}

/// Serves the app `factory` builds (one per worker thread) on `listener` over HTTP/1, until
/// `stop` resolves; then lets the requests in flight finish and closes idle connections. As
/// actix-web's `HttpServer` does, with one difference: each connection's stream is wrapped in
/// [`JsonErrors`], so that the answers the HTTP layer gives on its own are JSON too.
fn serve<F, I, S, B>(
    listener: TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
    factory: F,
) -> std::io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let addr = listener.local_addr()?;
    let builder = actix_server::Server::build();
    let shutdown = builder.graceful_shutdown_signal();
    Ok(builder
        .shutdown_signal(stop)
        .listen("api-server", listener, move || {
            let shutdown = shutdown.clone();
            let app = factory()
                .into_factory()
                .map_err(|err| err.into().error_response());
            let http = HttpService::build()
                .keep_alive(KeepAlive::default())
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                .h1_allow_half_closed(true)
                .local_addr(addr)
                .graceful_shutdown_signal(move || {
                    let shutdown = shutdown.clone();
                    async move { shutdown.notified().await }
                })
                .h1(map_config(app, |_| AppConfig::default()));
            fn_service(|io: TcpStream| {
                let peer = io.peer_addr().ok();
                std::future::ready(Ok::<_, DispatchError>((JsonErrors::new(io), peer)))
            })
            .and_then(http)
        })?
        .run())
}

/// Resolves on SIGTERM or SIGINT; the server then stops accepting connections and lets the
/// requests in flight finish (actix's graceful shutdown, for both signals).
#[cfg(unix)]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        log::info!("{name} received; finishing the requests in flight, then stopping");
    })
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        log::info!("Ctrl-C received; finishing the requests in flight, then stopping");
    })
}

/// The in-process alternative to cron: the store's tick every `every`.
async fn tick_loop(db: Db, rules: Arc<RuleSet>, every: Duration, metrics: web::Data<Metrics>) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        match db
            .tick(Arc::clone(&rules), DEFAULT_BATCH_SIZE, false, Utc::now())
            .await
        {
            Ok(outcome) if outcome.moved > 0 || outcome.occurrences_made > 0 => {
                metrics.tick(&outcome);
                log::info!(
                    "tick: moved {} logs to pending, made {} series occurrences",
                    outcome.moved,
                    outcome.occurrences_made
                );
            }
            Ok(_) => log::debug!("tick: nothing due"),
            Err(e) => log::error!("tick failed: {e}"),
        }
    }
}
