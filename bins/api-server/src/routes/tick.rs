//! `POST /publishing/scheduler/tick`: the seed's tick, in the server.

use actix_web::{post, web};
use chrono::Utc;
use scheduler_store::tick::DEFAULT_BATCH_SIZE;
use scheduler_store::TickOutcome;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::input::{no_body, Body, Query};
use crate::state::AppState;

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(tick);
}

/// The tick's query.
#[derive(Debug, Deserialize)]
pub struct TickQuery {
    /// `true` counts and lists without changing anything.
    pub dry_run: Option<String>,
}

fn parse_bool(name: &str, value: Option<&str>) -> Result<bool, ApiError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "false" | "0" | "no" | "off") => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some(_) => Err(ApiError::bad_field(format!("{name} must be true or false"))),
    }
}

/// The tick: moves every due `scheduled` log to `pending`.
#[utoipa::path(
    tag = "publishing",
    params(("dry_run" = Option<bool>, Query, description = "Count and list without changing anything")),
    responses((status = 200, body = TickOutcome), (status = 400, body = ErrorBody))
)]
#[post("/publishing/scheduler/tick")]
pub async fn tick(
    state: web::Data<AppState>,
    Query(query): Query<TickQuery>,
    Body(body): Body,
) -> ApiResult<web::Json<TickOutcome>> {
    no_body(&body)?;
    let dry_run = parse_bool("dry_run", query.dry_run.as_deref())?;
    let outcome = state
        .db
        .tick(DEFAULT_BATCH_SIZE, dry_run, Utc::now())
        .await?;
    Ok(web::Json(outcome))
}
