//! `POST /publishing/scheduler/tick`: the seed's tick, in the server.

use actix_web::{post, web};
use chrono::Utc;
use scheduler_store::tick::DEFAULT_BATCH_SIZE;
use scheduler_store::TickOutcome;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiResult, ErrorBody};
use crate::input::{no_body, parse_bool, Body, Query};
use crate::metrics::Metrics;
use crate::state::AppState;

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(tick);
}

/// The tick's query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TickQuery {
    /// `true` counts and lists the due posts without changing anything; default `false`.
    #[param(value_type = Option<bool>)]
    pub dry_run: Option<String>,
}

/// The tick: moves every due `scheduled` log to `pending`.
///
/// What cron's `tick-runner` does, by HTTP: every log whose time has come (by the database's
/// clock) moves once, whoever ticks and however often. Takes no body (or `{}`).
#[utoipa::path(
    tag = "publishing",
    params(TickQuery),
    responses(
        (status = 200, description = "What moved (or would move, with `dry_run`)", body = TickOutcome),
        (status = 400, description = "A bad `dry_run` (`invalid_field`), an unknown parameter or a body (`unknown_field`)", body = ErrorBody),
    )
)]
#[post("/publishing/scheduler/tick")]
pub async fn tick(
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
    Query(query): Query<TickQuery>,
    Body(body): Body,
) -> ApiResult<web::Json<TickOutcome>> {
    no_body(&body)?;
    let dry_run = parse_bool("dry_run", query.dry_run.as_deref())?;
    let outcome = state
        .db
        .tick(
            std::sync::Arc::clone(&state.rules),
            DEFAULT_BATCH_SIZE,
            dry_run,
            Utc::now(),
        )
        .await?;
    if !dry_run {
        metrics.tick(&outcome);
    }
    Ok(web::Json(outcome))
}
