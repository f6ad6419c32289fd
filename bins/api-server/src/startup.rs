//! Building and running the server: the database, the rules, the listener, the middleware and
//! the optional in-process tick.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_http::{HttpService, KeepAlive, Request, Response};
use actix_service::{
    fn_service, map_config, IntoServiceFactory, Service, ServiceFactory, ServiceFactoryExt,
};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::AppConfig;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::error::DispatchError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, ErrorHandlerResponse, ErrorHandlers, Logger, Next};
use actix_web::rt::net::TcpStream;
use actix_web::{web, App, HttpResponse, ResponseError};
use anyhow::Context;
use chrono::Utc;
use scheduler_store::{DatabaseUrl, Db, GroupWriter, Mode, OpenOptions, StoreError, TickOutcome};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::error::{ApiError, ErrorBody, Rejected};
use crate::input::BODY_LIMIT;
use crate::protocol_errors::JsonErrors;
use crate::routes::{self, AppState};

/// A server bound to its listener, ready to run.
pub struct Application {
    port: u16,
    server: Server,
    db: Db,
    tick_interval: Option<Duration>,
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

/// The configured API token (a SHA-256 digest of it, compared in constant time).
#[derive(Debug, Clone)]
struct AuthToken(Option<[u8; 32]>);

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl Application {
    /// Checks the configuration, reads the rules, opens the database (creating a missing
    /// SQLite file), runs the embedded migrations and binds the listener. The error says what
    /// failed in words a person understands.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let rules = config.load_rules()?;
        let token = config.token()?;
        let addrs = config.bind_addrs()?;
        let url = DatabaseUrl::parse(&config.database_url).context("invalid database URL")?;
        let options = OpenOptions {
            mode: Mode::Migrate,
            max_connections: config.db_pool_size,
            connection_timeout: Duration::from_secs(config.db_timeout),
            ..OpenOptions::default()
        };
        let db = tokio::task::spawn_blocking(move || -> anyhow::Result<Db> {
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
            "listening on http://{local} ({} database{}, {})",
            if db.url().is_sqlite() {
                "SQLite"
            } else {
                "PostgreSQL"
            },
            if db.url().is_sqlite() {
                format!(" {}", db.url())
            } else {
                String::new()
            },
            if token.is_some() {
                "bearer token required"
            } else {
                "no authentication"
            },
        );
        // SQLite writes one transaction at a time: short writes are committed in groups by
        // one thread. PostgreSQL runs them side by side, each on its own pooled connection.
        let group = if db.url().is_sqlite() {
            Some(GroupWriter::start(db.clone()).context("failed to start the writer thread")?)
        } else {
            None
        };
        let state = AppState {
            db: db.clone(),
            rules: Arc::new(rules),
            group,
        };
        let auth = AuthToken(token.map(|t| digest(t.as_bytes())));
        let server = serve(listener, stop, move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .app_data(web::Data::new(auth.clone()))
                .app_data(web::PayloadConfig::new(BODY_LIMIT))
                .app_data(
                    web::JsonConfig::default()
                        .limit(BODY_LIMIT)
                        .content_type_required(false)
                        .error_handler(|e, _| ApiError::BadRequest(e.to_string()).into()),
                )
                .app_data(
                    web::QueryConfig::default()
                        .error_handler(|e, _| ApiError::BadRequest(e.to_string()).into()),
                )
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|e, _| ApiError::NotFound(e.to_string()).into()),
                )
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
                .wrap(ErrorHandlers::new().default_handler(json_error_body))
                .wrap(from_fn(refuse_large_bodies))
                .wrap(from_fn(require_token))
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
            tick_interval: config.tick_interval.map(Duration::from_secs),
        })
    }

    /// The port the server listens on (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or SIGINT, then lets in-flight requests finish. With a tick
    /// interval, ticks in the background meanwhile.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let ticker = self
            .tick_interval
            .map(|every| tokio::spawn(tick_loop(self.db.clone(), every)));
        let result = self.server.await;
        if let Some(ticker) = ticker {
            ticker.abort();
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
async fn tick_loop(db: Db, every: Duration) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let db = db.clone();
        let result = web::block(move || -> Result<TickOutcome, StoreError> {
            let mut conn = db.writer()?;
            db.tick(
                &mut conn,
                routes::publishing::TICK_BATCH_SIZE,
                false,
                Utc::now(),
            )
        })
        .await;
        match result {
            Ok(Ok(outcome)) if outcome.moved > 0 => {
                log::info!("tick: moved {} logs to pending", outcome.moved);
            }
            Ok(Ok(_)) => log::debug!("tick: nothing due"),
            Ok(Err(e)) => log::error!("tick failed: {e}"),
            Err(e) => log::error!("tick failed: {e}"),
        }
    }
}

/// With a token configured, every path but `/healthz` and `/openapi.json` needs
/// `Authorization: Bearer <token>`; 401 otherwise.
async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let expected = req.app_data::<web::Data<AuthToken>>().and_then(|t| t.0);
    let open = matches!(req.path(), "/healthz" | "/openapi.json");
    if let (Some(expected), false) = (expected, open) {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token)
            .map(|t| digest(t.as_bytes()));
        let ok = given.is_some_and(|g| bool::from(g.ct_eq(&expected)));
        if !ok {
            let response = ApiError::Unauthorized.error_response();
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// 413 for a body whose `Content-Length` is over [`BODY_LIMIT`], on every route: one that reads
/// no body must not take one either. (A body without a length is cut off where it is read.)
async fn refuse_large_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT as u64) {
        let response = ApiError::PayloadTooLarge.error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// The token of an `Authorization: Bearer <token>` value; the scheme's name is
/// case-insensitive (RFC 9110, section 11.1) and may be followed by several spaces.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start())
}

/// Makes every error answer JSON: actix's own (extractor failures, 413, 405) come as text or
/// empty; they get `{"error": …}`, or the rejected shape on `POST /publishing/schedule`.
fn json_error_body<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .response()
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => format!("request body is larger than {BODY_LIMIT} bytes"),
        StatusCode::NOT_FOUND => "not found".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed".to_owned(),
        _ if status.is_server_error() => {
            if let Some(e) = res.response().error() {
                log::error!("{status}: {e}");
            }
            "internal error".to_owned()
        }
        _ => res
            .response()
            .error()
            .map(ToString::to_string)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_lowercase()),
    };
    let schedule = res.request().path() == "/publishing/schedule"
        && matches!(
            status,
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY
        );
    let mut response = HttpResponse::build(status);
    for (name, value) in res.response().headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            response.append_header((name.clone(), value.clone()));
        }
    }
    response.insert_header((
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    ));
    let response = if schedule {
        response.json(Rejected::new(message))
    } else {
        response.json(ErrorBody { error: message })
    };
    let (req, _) = res.into_parts();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}
