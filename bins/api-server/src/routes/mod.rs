//! The endpoints of the contract (section 4), their JSON shapes, and [`configure`], which
//! registers them.

use std::sync::Arc;

use actix_web::{guard, web, HttpResponse};
use scheduler_core::RuleSet;
use scheduler_store::{Conn, Db, GroupWriter};

use crate::error::{ApiError, ErrorBody};

pub mod accounts;
pub mod health;
pub mod ledger;
pub mod publishing;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The connection pool.
    pub db: Db,
    /// The scheduling rules.
    pub rules: Arc<RuleSet>,
    /// SQLite: the thread that commits [`Access::Write`] jobs in groups; PostgreSQL: none.
    pub group: Option<GroupWriter>,
}

/// Every route: method and path as the OpenAPI document writes it. A test checks that each is
/// served and is in `/openapi.json`.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/accounts"),
    ("GET", "/accounts/{id}"),
    ("POST", "/clips"),
    ("GET", "/clips/{id}"),
    ("POST", "/publishing/schedule"),
    ("POST", "/publishing/schedule/batch"),
    ("GET", "/publishing/schedule/{clip_id}"),
    ("GET", "/publishing/logs/{id}"),
    ("POST", "/publishing/logs/{id}/cancel"),
    ("POST", "/publishing/logs/{id}/reschedule"),
    ("POST", "/publishing/scheduler/tick"),
    ("GET", "/ledger/events"),
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
];

/// What a handler does with the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only reads: a pooled connection of its own (on SQLite with WAL, never waiting for the
    /// writer).
    Read,
    /// One short write transaction. SQLite: queued for the group-commit thread, which runs it
    /// in a savepoint of a transaction it shares with the other queued writes and answers once
    /// that committed (see [`GroupWriter`]). PostgreSQL: a pooled connection of its own.
    Write,
    /// Writes committed batch by batch (the tick): the writer connection on SQLite (see
    /// [`Db::writer`]), a pooled one on PostgreSQL.
    WriteBatches,
}

/// Runs `f` with a database connection, off the actix workers: on the blocking thread pool
/// (the pool checkout included), or on SQLite's group-commit thread for [`Access::Write`].
pub async fn blocking<T, F>(state: &AppState, access: Access, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut Conn, &RuleSet) -> Result<T, ApiError> + Send + 'static,
{
    let rules = Arc::clone(&state.rules);
    if let (Access::Write, Some(group)) = (access, &state.group) {
        let (answer, answered) = tokio::sync::oneshot::channel();
        group.submit(
            move |conn| f(conn, &rules),
            move |result| {
                // The request may have gone (client disconnected): nobody to answer.
                let _ = answer.send(result);
            },
        )?;
        return answered
            .await
            .map_err(|_| ApiError::Internal("the write job ended without an answer".to_owned()))?;
    }
    let db = state.db.clone();
    web::block(move || {
        let mut conn = match access {
            Access::Read => db.conn()?,
            Access::Write | Access::WriteBatches => db.writer()?,
        };
        f(&mut conn, &rules)
    })
    .await?
}

/// 405 with the `Allow` header RFC 9110 requires (`allow`: the resource's methods).
fn method_not_allowed(allow: &str) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((actix_web::http::header::ALLOW, allow))
        .json(ErrorBody {
            error: "method not allowed".to_owned(),
        })
}

/// The answer to a path no route has.
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(ErrorBody {
        error: "not found".to_owned(),
    })
}

/// A resource whose other methods answer 405 with an `Allow` header listing its methods in
/// [`ROUTES`] (and `HEAD` beside `GET`).
fn resource(path: &str) -> actix_web::Resource {
    let mut methods: Vec<&str> = Vec::new();
    for (method, _) in ROUTES.iter().filter(|(_, p)| *p == path) {
        methods.push(method);
        if *method == "GET" {
            methods.push("HEAD");
        }
    }
    resource_allowing(path, &methods.join(", "))
}

/// `GET` and `HEAD` (the same answer without its body, as RFC 9110 asks of every `GET`).
fn get() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// A resource whose other methods answer 405 with `Allow: allow`.
fn resource_allowing(path: &str, allow: &str) -> actix_web::Resource {
    let allow = allow.to_owned();
    web::resource(path).default_service(web::to(move || {
        let response = method_not_allowed(&allow);
        async move { response }
    }))
}

/// Registers every route of [`ROUTES`].
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/accounts").route(web::post().to(accounts::create_account)))
        .service(resource("/accounts/{id}").route(get().to(accounts::get_account)))
        .service(resource("/clips").route(web::post().to(accounts::create_clip)))
        .service(resource("/clips/{id}").route(get().to(accounts::get_clip)))
        .service(resource("/publishing/schedule").route(web::post().to(publishing::schedule)))
        .service(
            // GET is the clip schedule of a clip whose id is `batch`.
            resource_allowing("/publishing/schedule/batch", "GET, HEAD, POST")
                .route(web::post().to(publishing::schedule_batch))
                .route(get().to(publishing::list_batch_clip)),
        )
        .service(
            resource("/publishing/schedule/{clip_id}")
                .route(get().to(publishing::list_clip_schedule)),
        )
        .service(resource("/publishing/logs/{id}").route(get().to(publishing::get_log)))
        .service(resource("/publishing/logs/{id}/cancel").route(web::post().to(publishing::cancel)))
        .service(
            resource("/publishing/logs/{id}/reschedule")
                .route(web::post().to(publishing::reschedule)),
        )
        .service(resource("/publishing/scheduler/tick").route(web::post().to(publishing::tick)))
        .service(resource("/ledger/events").route(get().to(ledger::list_events)))
        .service(resource("/healthz").route(get().to(health::healthz)))
        .service(resource("/openapi.json").route(get().to(health::openapi)));
}
