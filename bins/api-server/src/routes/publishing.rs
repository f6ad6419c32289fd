//! The publishing handoff (contract section 8): workers claim pending logs with a lease and
//! report on them; a person confirms what may have been published, and retries what failed.

use actix_web::{post, web};
use chrono::{TimeDelta, Utc};
use scheduler_core::rfc3339;
use scheduler_store::handoff::{DEFAULT_LEASE_SECONDS, LEASE_SECONDS, MAX_CLAIM};
use scheduler_store::{ClaimRequest, Completion, Failure, FailureKind, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::input::{
    body_or_default, check_id, check_text, from_value, json_value, parse_opt_time, path_id, Body,
    Whole,
};
use crate::metrics::Metrics;
use crate::openapi::Platform;
use crate::routes::accounts::{AccountOut, ClipOut};
use crate::routes::logs::{LogOut, RescheduleOut};
use crate::state::AppState;

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(claims)
        .service(heartbeat)
        .service(complete)
        .service(fail)
        .service(confirm)
        .service(retry);
}

/// The longest lease token, platform post id and permalink a client may send.
const MAX_TOKEN_LEN: usize = 128;
const MAX_PERMALINK_LEN: usize = 2048;
/// The longest wait a rate limit may ask for: a week.
const MAX_RETRY_AFTER: u32 = 604_800;

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

/// Reads a JSON object body into `T` (400 on malformed JSON, wrong types, unknown fields).
fn body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    from_value(json_value(body)?)
}

/// `value`, or 422 naming the field and the range.
fn in_range(
    field: &str,
    value: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ApiError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::unacceptable(format!(
            "{field} must be in {}..={}, got {value}",
            range.start(),
            range.end()
        )))
    }
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

/// A lease token, checked for length and form (any other token is simply not the lease's).
fn token(text: &str) -> Result<String, ApiError> {
    check_text("lease_token", text, MAX_TOKEN_LEN)?;
    Ok(text.to_owned())
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

const LOG_ID: &str = "The log's id";

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

/// The post is published.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"lease_token": "1f0c5c7e3b0e4c43a4b7b1b0a5b7c9d2", "platform_post_id": "17895695668004550",
                           "permalink": "https://www.instagram.com/p/C1a2b3c4d5e/"}))]
pub struct CompleteIn {
    /// The claim's token.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub lease_token: String,
    /// The platform's id of the post.
    #[schema(
        max_length = 128,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub platform_post_id: Option<String>,
    /// The post's address.
    #[schema(
        max_length = 2048,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub permalink: Option<String>,
    /// Engagement figures (views, likes, …), kept with the log.
    #[schema(value_type = Option<Object>)]
    pub metrics: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Report a publish.
///
/// `processing` → `published`, with the platform's id and address if known.
#[utoipa::path(
    tag = "publishing",
    request_body = CompleteIn,
    params(("id" = String, Path, description = LOG_ID, min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$")),
    responses(
        (status = 200, description = "The published log", body = LogOut),
        (status = 400, description = "Malformed JSON (`malformed_json`), a wrong type (`invalid_field`) or an unknown field (`unknown_field`)", body = ErrorBody),
        (status = 404, description = "No log has that id (`not_found`)", body = ErrorBody),
        (status = 409, description = "The token no longer holds the log (`lease_lost`)", body = ErrorBody),
        (status = 422, description = "A bad token, id or permalink (`invalid_field`)", body = ErrorBody),
    )
)]
#[post("/publishing/logs/{id}/complete")]
pub async fn complete(
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
    id: web::Path<String>,
    Body(raw): Body,
) -> ApiResult<web::Json<LogOut>> {
    let input: CompleteIn = body(&raw)?;
    let lease_token = token(&input.lease_token)?;
    if let Some(post) = &input.platform_post_id {
        check_text("platform_post_id", post, MAX_TOKEN_LEN)?;
    }
    if let Some(link) = &input.permalink {
        check_text("permalink", link, MAX_PERMALINK_LEN)?;
    }
    let completion = Completion {
        platform_post_id: input.platform_post_id,
        permalink: input.permalink,
        engagement: input
            .metrics
            .map(|m| serde_json::Value::Object(m).to_string()),
    };
    let id = path_id("publish log", id)?;
    let log = state
        .write(move |conn, _| {
            Ok(scheduler_store::complete(
                conn,
                &id,
                &lease_token,
                &completion,
                Utc::now(),
            )?)
        })
        .await?;
    metrics.reported("published");
    Ok(web::Json(log.try_into()?))
}

/// Why an attempt failed.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The platform said try later, or the request never reached it: planned again after a
    /// backoff, in the window, until the platform's attempts run out.
    Retryable,
    /// The platform asked to wait: planned again after `retry_after`; the attempt does not
    /// count.
    RateLimited,
    /// The platform refused the post for good: `failed`.
    Permanent,
    /// The request may have reached the platform (a timeout after sending): `unconfirmed`,
    /// never tried again by itself.
    Unknown,
}

impl From<Kind> for FailureKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Retryable => Self::Retryable,
            Kind::RateLimited => Self::RateLimited,
            Kind::Permanent => Self::Permanent,
            Kind::Unknown => Self::Unknown,
        }
    }
}

/// A failed attempt.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"lease_token": "1f0c5c7e3b0e4c43a4b7b1b0a5b7c9d2", "kind": "retryable",
                           "error": "HTTP 503 from the platform"}))]
pub struct FailIn {
    /// The claim's token.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub lease_token: String,
    /// What kind of failure.
    pub kind: Kind,
    /// What happened (kept cut to 2,000 characters).
    pub error: String,
    /// For `rate_limited`: seconds to wait, as the platform's `Retry-After` said; omitted:
    /// the backoff.
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 604800)]
    pub retry_after: Option<Whole>,
}

/// Report a failed attempt.
///
/// `retryable` and `rate_limited` plan the log again (`scheduled`) at the earliest slot the
/// rules allow after the backoff (`retry_base_seconds` × 4^(attempt−1), at most 6 hours, ±10 %)
/// or `retry_after`: a retry never posts outside the window or closer than the gap. A
/// `retryable` failure of the platform's last attempt (`max_attempts`), a `permanent` one, and
/// one with no slot left are `failed`; `unknown` is `unconfirmed`.
#[utoipa::path(
    tag = "publishing",
    request_body = FailIn,
    params(("id" = String, Path, description = LOG_ID, min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$")),
    responses(
        (status = 200, description = "The log after the failure", body = LogOut),
        (status = 400, description = "Malformed JSON (`malformed_json`), a wrong type or kind (`invalid_field`) or an unknown field (`unknown_field`)", body = ErrorBody),
        (status = 404, description = "No log has that id (`not_found`)", body = ErrorBody),
        (status = 409, description = "The token no longer holds the log (`lease_lost`)", body = ErrorBody),
        (status = 422, description = "A bad token or `retry_after` (`invalid_field`)", body = ErrorBody),
    )
)]
#[post("/publishing/logs/{id}/fail")]
pub async fn fail(
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
    id: web::Path<String>,
    Body(raw): Body,
) -> ApiResult<web::Json<LogOut>> {
    let input: FailIn = body(&raw)?;
    let lease_token = token(&input.lease_token)?;
    let retry_after = input
        .retry_after
        .map(|s| in_range("retry_after", s.0, 0..=MAX_RETRY_AFTER))
        .transpose()?;
    let failure = Failure {
        kind: input.kind.into(),
        error: input.error,
        retry_after: retry_after.map(|s| TimeDelta::seconds(i64::from(s))),
        jitter: fastrand::f64() * 2.0 - 1.0,
    };
    let kind = failure.kind;
    let id = path_id("publish log", id)?;
    let after = state
        .write(move |conn, rules| {
            Ok(scheduler_store::fail(
                conn,
                rules,
                &id,
                &lease_token,
                &failure,
                Utc::now(),
            )?)
        })
        .await?;
    metrics.reported(kind.as_str());
    Ok(web::Json(after.log.try_into()?))
}

/// A person's answer for an `unconfirmed` log.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"published": true, "platform_post_id": "17895695668004550"}))]
pub struct ConfirmIn {
    /// Whether the post is on the platform.
    pub published: bool,
    /// The platform's id of the post, when it is.
    #[schema(
        max_length = 128,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub platform_post_id: Option<String>,
}

/// Settle an unconfirmed log.
///
/// `published: true` → `published`; `false` → `scheduled` again, planned under the rules from
/// now, its attempts started over.
#[utoipa::path(
    tag = "publishing",
    request_body = ConfirmIn,
    params(("id" = String, Path, description = LOG_ID, min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$")),
    responses(
        (status = 200, description = "The log", body = LogOut),
        (status = 400, description = "Malformed JSON (`malformed_json`), a wrong type (`invalid_field`) or an unknown field (`unknown_field`)", body = ErrorBody),
        (status = 404, description = "No log has that id (`not_found`)", body = ErrorBody),
        (status = 409, description = "The log is not unconfirmed (`invalid_state`)", body = ErrorBody),
        (status = 422, description = "A bad platform post id (`invalid_field`), or no slot to plan it again (`no_slot`)", body = ErrorBody),
    )
)]
#[post("/publishing/logs/{id}/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    id: web::Path<String>,
    Body(raw): Body,
) -> ApiResult<web::Json<LogOut>> {
    let input: ConfirmIn = body(&raw)?;
    if let Some(post) = &input.platform_post_id {
        check_text("platform_post_id", post, MAX_TOKEN_LEN)?;
    }
    let id = path_id("publish log", id)?;
    let after = state
        .write(move |conn, rules| {
            Ok(scheduler_store::confirm(
                conn,
                rules,
                &id,
                input.published,
                input.platform_post_id.as_deref(),
                Utc::now(),
            )?)
        })
        .await?;
    Ok(web::Json(after.log.try_into()?))
}

/// When to try a failed log again.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"scheduled_for": "2030-06-16T20:00:00Z"}))]
pub struct RetryIn {
    /// The earliest time (RFC 3339); omitted: now.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_for: Option<String>,
}

/// Try a failed log again.
///
/// `failed` → `scheduled`, planned under the rules from the time given or now, its attempts
/// started over. An empty body is now.
#[utoipa::path(
    tag = "publishing",
    request_body(content = RetryIn, description = "The earliest time; an empty body is now"),
    params(("id" = String, Path, description = LOG_ID, min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$")),
    responses(
        (status = 200, description = "The log and the planner's reason", body = RescheduleOut),
        (status = 400, description = "Malformed JSON (`malformed_json`), a wrong type (`invalid_field`) or an unknown field (`unknown_field`)", body = ErrorBody),
        (status = 404, description = "No log has that id (`not_found`)", body = ErrorBody),
        (status = 409, description = "The log is not failed (`invalid_state`)", body = ErrorBody),
        (status = 422, description = "No slot (`no_slot`), a past time (`past_time`), or a year outside 1970 to 9999 (`out_of_range`)", body = ErrorBody),
    )
)]
#[post("/publishing/logs/{id}/retry")]
pub async fn retry(
    state: web::Data<AppState>,
    id: web::Path<String>,
    Body(raw): Body,
) -> ApiResult<web::Json<RescheduleOut>> {
    let input: RetryIn = body_or_default(&raw)?;
    let scheduled_for = parse_opt_time("scheduled_for", input.scheduled_for.as_deref())?;
    let id = path_id("publish log", id)?;
    let scheduled = state
        .write(move |conn, rules| {
            Ok(scheduler_store::retry(
                conn,
                rules,
                &id,
                scheduled_for,
                Utc::now(),
            )?)
        })
        .await?;
    Ok(web::Json(RescheduleOut {
        reason: scheduled.reason,
        log: scheduled.log.try_into()?,
    }))
}
