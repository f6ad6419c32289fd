//! A worker's reports: the post is published, or the attempt failed, and how.

use actix_web::{post, web};
use chrono::{TimeDelta, Utc};
use scheduler_store::{Completion, Failure, FailureKind};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{body, token, LOG_ID, MAX_TOKEN_LEN};
use crate::error::{ApiResult, ErrorBody};
use crate::input::{check_text, in_range, path_id, Body, Whole};
use crate::metrics::Metrics;
use crate::routes::logs::LogOut;
use crate::state::AppState;

/// The longest permalink a client may send.
const MAX_PERMALINK_LEN: usize = 2048;
/// The longest wait a rate limit may ask for: a week.
const MAX_RETRY_AFTER: u32 = 604_800;

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
    /// The post's first engagement figures, if the platform gave any.
    pub metrics: Option<super::engagement::MetricsIn>,
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
        (status = 422, description = "A bad token, id or permalink, or a `metrics.measured_at` in the future (`invalid_field`)", body = ErrorBody),
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
    let engagement = input.metrics.map(|m| m.parse(Utc::now())).transpose()?;
    let completion = Completion {
        platform_post_id: input.platform_post_id,
        permalink: input.permalink,
        engagement: engagement.map(|e| e.to_json()),
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
