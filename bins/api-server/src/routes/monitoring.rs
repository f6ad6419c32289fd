//! `GET /metrics`.

use actix_web::{get, web, HttpResponse};
use chrono::Utc;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::metrics::Metrics;
use crate::state::AppState;

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(metrics);
}

/// The OpenMetrics text format, which Prometheus reads.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Metrics for Prometheus.
///
/// Request counts and latency by route pattern, method and status; schedule outcomes
/// (`scheduled`, `adjusted`, `rejected` by code); the ticks this server ran and their
/// lateness; and, read from the database at each scrape, the due backlog and the oldest due
/// and pending posts' age (`scheduler_database_up` is 0 when the database did not answer).
/// Needs the token like every route but the health check.
#[utoipa::path(
    tag = "monitoring",
    responses((status = 200, description = "The metrics, in the OpenMetrics text format", content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>, metrics: web::Data<Metrics>) -> HttpResponse {
    let backlog = state
        .read(|conn, _| Ok(scheduler_store::backlog(conn, Utc::now())?))
        .await
        .inspect_err(|e| log::warn!("metrics: the backlog could not be read: {e}"))
        .ok();
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(metrics.render(backlog.as_ref()))
}
