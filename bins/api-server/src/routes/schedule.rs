//! `POST /publishing/schedule` and `POST /publishing/schedule/batch`: the seed's request, one
//! or up to 500 planned in order.

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpResponse};
use scheduler_core::{rfc3339, RuleSet};
use scheduler_store::{NewSchedule, Scheduled, ScheduledBy, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, ApiResult, ErrorBody, Rejected};
use crate::idempotency::{answer, created, Idempotency, Idempotent};
use crate::input::{check_id, check_text, from_value, parse_opt_time, MAX_NAME_LEN};
use crate::state::AppState;

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(schedule).service(schedule_batch);
}

/// The most requests one batch may hold.
pub const MAX_BATCH: usize = 500;

/// The seed's schedule request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ScheduleIn {
    /// The clip to publish.
    pub clip_id: String,
    /// The platform; it must be the account's.
    pub platform: String,
    /// The account to publish on.
    pub social_account_id: String,
    /// When to publish (RFC 3339); omitted: the next free slot from now.
    pub scheduled_for: Option<String>,
    /// The latest acceptable slot (RFC 3339, inclusive).
    pub scheduled_window_end: Option<String>,
    /// `manual` (default), `rule_engine` or `campaign_orchestrator`.
    pub scheduled_by: Option<String>,
}

/// A scheduled post.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleOk {
    /// The new log's id.
    pub publish_log_id: String,
    /// Always `scheduled`.
    pub status: String,
    /// Why the time differs from the request, or `Scheduled as requested`.
    pub reason: String,
    /// The slot (RFC 3339, UTC).
    pub scheduled_for: String,
    /// The client's window end, or the end of the window holding the slot.
    pub scheduled_window_end: String,
}

impl From<Scheduled> for ScheduleOk {
    fn from(s: Scheduled) -> Self {
        Self {
            publish_log_id: s.log.id,
            status: s.log.status.to_string(),
            reason: s.reason,
            scheduled_for: s.log.scheduled_for.map(rfc3339).unwrap_or_default(),
            scheduled_window_end: s.log.scheduled_window_end.map(rfc3339).unwrap_or_default(),
        }
    }
}

/// A batch of schedule requests.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchIn {
    /// Up to 500 requests, planned in order.
    #[schema(value_type = Vec<ScheduleIn>)]
    pub items: Vec<Value>,
}

/// One answer of a batch: the success or the rejected shape.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchResult {
    /// Scheduled.
    Scheduled(ScheduleOk),
    /// Rejected.
    Rejected(Rejected),
}

/// One answer per request of the batch, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchOut {
    /// The answers.
    pub results: Vec<BatchResult>,
}

/// Checks one schedule request; every error is a 400 or 422.
fn parse_request(rules: &RuleSet, value: Value) -> Result<NewSchedule, ApiError> {
    let input: ScheduleIn = from_value(value)?;
    check_id("clip_id", &input.clip_id)?;
    check_id("social_account_id", &input.social_account_id)?;
    check_text("platform", &input.platform, MAX_NAME_LEN)?;
    rules.known_platform(&input.platform)?;
    let scheduled_by = match &input.scheduled_by {
        None => ScheduledBy::Manual,
        Some(name) => name
            .parse()
            .map_err(|e: scheduler_store::models::UnknownValue| {
                ApiError::unacceptable(e.to_string())
            })?,
    };
    Ok(NewSchedule {
        scheduled_for: parse_opt_time("scheduled_for", input.scheduled_for.as_deref())?,
        scheduled_window_end: parse_opt_time(
            "scheduled_window_end",
            input.scheduled_window_end.as_deref(),
        )?,
        clip_id: input.clip_id,
        platform: input.platform,
        social_account_id: input.social_account_id,
        scheduled_by,
    })
}

/// Schedule a post (the seed's endpoint).
#[utoipa::path(
    tag = "publishing", request_body = ScheduleIn, params(Idempotency),
    responses(
        (status = 201, description = "Scheduled", body = ScheduleOk, headers(("Location" = String, description = "Where the publish log is read: `/publishing/logs/{id}`"))),
        (status = 400, description = "Malformed JSON or a wrong type", body = Rejected),
        (status = 422, description = "Rejected: unknown clip, account or platform, platform mismatch, past time, no slot, bad scheduled_by", body = Rejected),
    )
)]
#[post("/publishing/schedule")]
pub async fn schedule(
    state: web::Data<AppState>,
    request: Result<Idempotent, ApiError>,
) -> ApiResult<HttpResponse> {
    schedule_one(state, request)
        .await
        .map_err(ApiError::into_schedule_error)
}

async fn schedule_one(
    state: web::Data<AppState>,
    request: Result<Idempotent, ApiError>,
) -> ApiResult<HttpResponse> {
    let Idempotent { body, key } = request?;
    let request = parse_request(&state.rules, body)?;
    state
        .write_idempotent(key, move |conn, rules, now| {
            let scheduled = scheduler_store::schedule(conn, rules, &request, now)?;
            let out = ScheduleOk::from(scheduled);
            created("/publishing/logs", &out.publish_log_id, &out)
        })
        .await
}

/// Schedule up to 500 posts in order; later ones respect the earlier ones' gaps.
#[utoipa::path(
    tag = "publishing", request_body = BatchIn, params(Idempotency),
    responses(
        (status = 200, description = "One answer per item, in order", body = BatchOut),
        (status = 400, description = "Malformed JSON, `items` not a list, or over 500 items", body = ErrorBody),
    )
)]
#[post("/publishing/schedule/batch")]
pub async fn schedule_batch(
    state: web::Data<AppState>,
    request: Idempotent,
) -> ApiResult<HttpResponse> {
    let Idempotent { body, key } = request;
    let items = match body {
        Value::Object(mut map) => match map.remove("items") {
            _ if !map.is_empty() => {
                let other = map.keys().next().expect("a key");
                return Err(ApiError::unknown_field(other));
            }
            Some(Value::Array(items)) => items,
            _ => {
                return Err(ApiError::bad_field(
                    "items must be a list of schedule requests",
                ))
            }
        },
        _ => {
            return Err(ApiError::bad_field(
                "expected a JSON object {\"items\": […]}",
            ))
        }
    };
    if items.len() > MAX_BATCH {
        return Err(ApiError::bad_field(format!(
            "a batch holds at most {MAX_BATCH} items, got {}",
            items.len()
        )));
    }
    // Each item is checked on its own; the valid ones go to the store in order.
    let parsed: Vec<Result<NewSchedule, Rejected>> = items
        .into_iter()
        .map(|item| parse_request(&state.rules, item).map_err(Rejected::from))
        .collect();
    state
        .write_idempotent(key, move |conn, rules, now| {
            let requests: Vec<NewSchedule> = parsed
                .iter()
                .filter_map(|p| p.as_ref().ok())
                .cloned()
                .collect();
            let mut outcomes =
                scheduler_store::schedule_batch(conn, rules, &requests, now)?.into_iter();
            let results = parsed
                .iter()
                .map(|item| match item {
                    Err(rejected) => Ok(BatchResult::Rejected(rejected.clone())),
                    Ok(_) => match outcomes.next() {
                        Some(Ok(scheduled)) => Ok(BatchResult::Scheduled(scheduled.into())),
                        Some(Err(refusal)) => Ok(BatchResult::Rejected(refusal.into())),
                        None => Err(StoreError::Internal(
                            "the batch returned fewer results than requests".to_owned(),
                        )),
                    },
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let wrote = results
                .iter()
                .any(|r| matches!(r, BatchResult::Scheduled(_)));
            let mut answer = answer(StatusCode::OK, &BatchOut { results })?;
            answer.wrote = wrote;
            Ok(answer)
        })
        .await
}
