//! Claims and heartbeats: a worker takes posts with a lease and keeps it.

use actix_web::{post, web};
use chrono::Utc;
use scheduler_core::rfc3339;
use scheduler_store::handoff::{DEFAULT_LEASE_SECONDS, LEASE_SECONDS, MAX_CLAIM};
use scheduler_store::{ClaimRequest, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{body, token, LOG_ID};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::input::{check_id, in_range, path_id, Body, Whole};
use crate::metrics::Metrics;
use crate::openapi::Platform;
use crate::routes::accounts::{AccountOut, ClipOut};
use crate::routes::logs::LogOut;
use crate::state::AppState;

/// What a worker asks for.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"worker_id": "worker-1", "limit": 4, "lease_seconds": 300}))]
pub struct ClaimIn {
    /// Who claims: kept with the log and in its events.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub worker_id: String,
    /// At most this many logs; default 1.
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<Whole>,
    /// The lease, in seconds; default 300. A heartbeat extends it.
    #[schema(value_type = Option<u32>, minimum = 10, maximum = 3600)]
    pub lease_seconds: Option<Whole>,
    /// Only logs of these platforms; omitted or empty: any.
    #[schema(value_type = Option<Vec<Platform>>, max_items = 100)]
    pub platforms: Option<Vec<String>>,
}

/// A claimed log, its clip and account (what a publisher needs), and the lease that holds it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimOut {
    /// The log, now `processing`.
    pub log: LogOut,
    /// Its clip.
    pub clip: ClipOut,
    /// Its account.
    pub account: AccountOut,
    /// The token every report on this claim carries; it stops working when the lease ends.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub lease_token: String,
    /// When the lease ends unless a heartbeat extends it.
    #[schema(format = DateTime)]
    pub lease_expires_at: String,
    /// Which attempt this is, from 1.
    #[schema(minimum = 1)]
    pub attempt: i32,
}

/// The claims made: empty when nothing is pending.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimsOut {
    /// Oldest `scheduled_for` first, then id.
    pub claims: Vec<ClaimOut>,
}

/// Claim pending logs.
///
/// Up to `limit` `pending` logs, oldest `scheduled_for` first, then id, become `processing`,
/// each answered with its clip and account and a fresh `lease_token`, `lease_expires_at` (the database's clock on PostgreSQL)
/// and its attempt counted. Any number of workers may claim at once, on any servers: each log
/// goes to one. A worker that stops reporting loses its lease; the tick then makes the log
/// `unconfirmed`, since it may have been published.
#[utoipa::path(
    tag = "publishing",
    request_body = ClaimIn,
    responses(
        (status = 200, description = "The claims (an empty list when nothing is pending)", body = ClaimsOut),
        (status = 400, description = "Malformed JSON (`malformed_json`), a wrong type (`invalid_field`) or an unknown field (`unknown_field`)", body = ErrorBody),
        (status = 422, description = "A bad worker id, limit or lease (`invalid_field`), or a platform without rules (`unknown_platform`)", body = ErrorBody),
    )
)]
#[post("/publishing/claims")]
pub async fn claims(
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
    Body(raw): Body,
) -> ApiResult<web::Json<ClaimsOut>> {
    let input: ClaimIn = body(&raw)?;
    check_id("worker_id", &input.worker_id)?;
    let limit = in_range("limit", input.limit.map_or(1, |w| w.0), 1..=MAX_CLAIM)?;
    let lease_seconds = in_range(
        "lease_seconds",
        input.lease_seconds.map_or(DEFAULT_LEASE_SECONDS, |w| w.0),
        LEASE_SECONDS,
    )?;
    let platforms = input.platforms.unwrap_or_default();
    if platforms.len() > 100 {
        return Err(ApiError::unacceptable(
            "platforms lists more than 100 platforms",
        ));
    }
    let platforms = platforms
        .iter()
        .map(|name| state.rules.known_platform(name))
        .collect::<Result<Vec<_>, _>>()?;
    let request = ClaimRequest {
        worker_id: input.worker_id,
        limit,
        lease_seconds,
        platforms,
    };
    // The answer is built inside the claim's transaction: a claim whose answer could not be
    // given must not hold its logs until their leases run out.
    let claims = state
        .write(move |conn, _| {
            Ok(scheduler_store::write_transaction(conn, |conn| {
                scheduler_store::claim(conn, &request, Utc::now())?
                    .into_iter()
                    .map(|c| {
                        Ok(ClaimOut {
                            lease_token: c.lease_token,
                            lease_expires_at: rfc3339(c.lease_expires_at),
                            attempt: c.attempt,
                            log: c.log.try_into()?,
                            clip: c.clip.into(),
                            account: c.account.into(),
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()
            })?)
        })
        .await?;
    metrics.claimed(claims.len());
    Ok(web::Json(ClaimsOut { claims }))
}

/// A heartbeat: the lease goes on.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"lease_token": "1f0c5c7e3b0e4c43a4b7b1b0a5b7c9d2", "lease_seconds": 300}))]
pub struct HeartbeatIn {
    /// The claim's token.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub lease_token: String,
    /// The lease then ends this many seconds from now; default 300.
    #[schema(value_type = Option<u32>, minimum = 10, maximum = 3600)]
    pub lease_seconds: Option<Whole>,
}

/// The lease's new end.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeartbeatOut {
    /// When the lease now ends.
    #[schema(format = DateTime)]
    pub lease_expires_at: String,
}

/// Extend a lease.
///
/// A worker whose publish takes long (a large upload) sends one well before its lease ends.
#[utoipa::path(
    tag = "publishing",
    request_body = HeartbeatIn,
    params(("id" = String, Path, description = LOG_ID, min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$")),
    responses(
        (status = 200, description = "The lease's new end", body = HeartbeatOut),
        (status = 400, description = "Malformed JSON (`malformed_json`), a wrong type (`invalid_field`) or an unknown field (`unknown_field`)", body = ErrorBody),
        (status = 404, description = "No log has that id (`not_found`)", body = ErrorBody),
        (status = 409, description = "The token no longer holds the log: the lease ended, or the log moved on (`lease_lost`)", body = ErrorBody),
        (status = 422, description = "A bad token or lease (`invalid_field`)", body = ErrorBody),
    )
)]
#[post("/publishing/logs/{id}/heartbeat")]
pub async fn heartbeat(
    state: web::Data<AppState>,
    id: web::Path<String>,
    Body(raw): Body,
) -> ApiResult<web::Json<HeartbeatOut>> {
    let input: HeartbeatIn = body(&raw)?;
    let lease_token = token(&input.lease_token)?;
    let lease_seconds = in_range(
        "lease_seconds",
        input.lease_seconds.map_or(DEFAULT_LEASE_SECONDS, |w| w.0),
        LEASE_SECONDS,
    )?;
    let id = path_id("publish log", id)?;
    let ends = state
        .write(move |conn, _| {
            Ok(scheduler_store::heartbeat(
                conn,
                &id,
                &lease_token,
                lease_seconds,
                Utc::now(),
            )?)
        })
        .await?;
    Ok(web::Json(HeartbeatOut {
        lease_expires_at: rfc3339(ends),
    }))
}
