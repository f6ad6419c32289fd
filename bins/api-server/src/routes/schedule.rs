//! `POST /publishing/schedule` and `POST /publishing/schedule/batch`: the seed's request, one
//! or up to 500 planned in order.

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpResponse};
use scheduler_store::{NewSchedule, Scheduled, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Schema, SchemaType};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

mod request;

pub(crate) use request::check_target;
use request::parse_request;
pub use request::{parse_priority, ScheduleIn};

use crate::error::{ApiError, ApiResult, ErrorBody, Rejected};
use crate::idempotency::{answer, created, Idempotency, Idempotent};
use crate::metrics::{Metrics, Outcome, Outcomes};
use crate::openapi::JustScheduled;
use crate::routes::logs::LogOut;
use crate::state::{AppState, Written};

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(schedule).service(schedule_batch);
}

/// The most requests one batch may hold.
pub const MAX_BATCH: usize = 500;

/// A scheduled post.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"publish_log_id": "log_595006be66dd439c8106f3f5a54fe165", "status": "scheduled", "reason": "Adjusted 40min forward to respect 60min gap", "scheduled_for": "2030-06-16T00:00:00Z", "scheduled_window_end": "2030-06-16T03:00:00Z"}))]
pub struct ScheduleOk {
    /// The new log's id.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub publish_log_id: String,
    /// Always `scheduled`.
    #[schema(value_type = JustScheduled)]
    pub status: String,
    /// Why the time differs from the request, or `Scheduled as requested`.
    pub reason: String,
    /// The slot (RFC 3339, UTC, whole seconds).
    #[schema(value_type = String, format = DateTime)]
    pub scheduled_for: String,
    /// The client's window end, or the end of the window holding the slot.
    #[schema(value_type = String, format = DateTime)]
    pub scheduled_window_end: String,
}

impl TryFrom<Scheduled> for ScheduleOk {
    type Error = StoreError;

    fn try_from(s: Scheduled) -> Result<Self, StoreError> {
        let log = LogOut::try_from(s.log)?;
        // The store sets it on every log it schedules.
        let window_end = log.scheduled_window_end.ok_or_else(|| {
            StoreError::Corrupt(format!("scheduled log {} has no window end", log.id))
        })?;
        Ok(Self {
            publish_log_id: log.id,
            status: log.status,
            reason: s.reason,
            scheduled_for: log.scheduled_for,
            scheduled_window_end: window_end,
        })
    }
}

/// A batch of schedule requests.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchIn {
    /// Up to 500 requests, planned in order: each later one respects the earlier ones' gaps.
    #[schema(value_type = Vec<BatchItem>, max_items = 500)]
    pub items: Vec<Value>,
}

/// One item of a batch: a schedule request. Anything else is answered in its place with the
/// rejected shape (400's code: `malformed_json`, `invalid_field` or `unknown_field`), as
/// `POST /publishing/schedule` would answer it, and the other items are planned.
#[derive(Debug)]
pub struct BatchItem;

impl PartialSchema for BatchItem {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(Ref::from_schema_name(ScheduleIn::name()))
            .item(ObjectBuilder::new().schema_type(SchemaType::AnyValue))
            .description(Some(
                "A schedule request; anything else is answered in its place with the rejected shape.",
            ))
            .into()
    }
}

impl ToSchema for BatchItem {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((ScheduleIn::name().into(), ScheduleIn::schema()));
        ScheduleIn::schemas(schemas);
    }
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

/// Schedule a post.
///
/// The seed's endpoint: the time moves to the earliest instant inside the platform's daily
/// posting window (in the account's time zone) and at least the platform's gap from the
/// account's other posts. Every 400 and 422 answers the rejected shape, its `code` saying why.
#[utoipa::path(
    tag = "publishing", request_body = ScheduleIn, params(Idempotency),
    responses(
        (status = 201, description = "Scheduled", body = ScheduleOk, headers(("Location" = String, description = "Where the publish log is read: `/publishing/logs/{id}`"))),
        (status = 400, description = "Malformed JSON (`malformed_json`), a wrong type (`invalid_field`) or an unknown field (`unknown_field`)", body = Rejected),
        (status = 422, description = "Rejected: an unknown clip (`clip_not_found`), account (`account_not_found`) or platform (`unknown_platform`), another platform than the account's (`platform_mismatch`), a past time (`past_time`), no slot (`no_slot`), a year outside 1970 to 9999 (`out_of_range`), a bad id or `scheduled_by` (`invalid_field`)", body = Rejected),
    )
)]
#[post("/publishing/schedule")]
pub async fn schedule(
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
    request: Result<Idempotent, ApiError>,
) -> ApiResult<HttpResponse> {
    let outcomes = Outcomes::default();
    match schedule_one(state, request, outcomes.clone()).await {
        Ok(written) => {
            if written.fresh {
                metrics.count(&outcomes);
            }
            Ok(written.response)
        }
        Err(e) => {
            if e.status().is_client_error() {
                metrics.schedule_outcome(Outcome::Rejected(e.code()));
            }
            Err(e.into_schedule_error())
        }
    }
}

/// The outcome of a scheduled post.
fn outcome(scheduled: &Scheduled) -> Outcome {
    if scheduled.is_adjusted() {
        Outcome::Adjusted
    } else {
        Outcome::Scheduled
    }
}

async fn schedule_one(
    state: web::Data<AppState>,
    request: Result<Idempotent, ApiError>,
    outcomes: Outcomes,
) -> ApiResult<Written> {
    let Idempotent { body, key } = request?;
    let request = parse_request(&state.rules, body)?;
    // One store call, atomic on its own; what follows it fails only on a corrupt row, which a
    // log the store just wrote is not.
    state
        .write_idempotent_atomic(key, move |conn, rules, now| {
            let scheduled = scheduler_store::schedule(conn, rules, &request, now)?;
            outcomes.push(outcome(&scheduled));
            let out = ScheduleOk::try_from(scheduled)?;
            created("/publishing/logs", &out.publish_log_id, &out)
        })
        .await
}

/// Schedule up to 500 posts in order.
///
/// Each item is planned as `POST /publishing/schedule` would plan it, later ones respecting
/// the earlier ones' gaps, all in one transaction; an item that is refused gets the rejected
/// shape and the others are planned.
#[utoipa::path(
    tag = "publishing", request_body = BatchIn, params(Idempotency),
    responses(
        (status = 200, description = "One answer per item, in order", body = BatchOut),
        (status = 400, description = "Malformed JSON (`malformed_json`), `items` missing, not a list or over 500 items (`invalid_field`), or an unknown field (`unknown_field`)", body = ErrorBody),
    )
)]
#[post("/publishing/schedule/batch")]
pub async fn schedule_batch(
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
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
    let noted = Outcomes::default();
    let counted = noted.clone();
    let answer = state
        .write_idempotent(key, move |conn, rules, now| {
            let requests: Vec<NewSchedule> = parsed
                .iter()
                .filter_map(|p| p.as_ref().ok())
                .cloned()
                .collect();
            let mut planned =
                scheduler_store::schedule_batch(conn, rules, &requests, now)?.into_iter();
            let results = parsed
                .iter()
                .map(|item| match item {
                    Err(rejected) => Ok(BatchResult::Rejected(rejected.clone())),
                    Ok(_) => match planned.next() {
                        Some(Ok(scheduled)) => {
                            noted.push(outcome(&scheduled));
                            Ok(BatchResult::Scheduled(scheduled.try_into()?))
                        }
                        Some(Err(refusal)) => Ok(BatchResult::Rejected(refusal.into())),
                        None => Err(StoreError::Internal(
                            "the batch returned fewer results than requests".to_owned(),
                        )),
                    },
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            for result in &results {
                if let BatchResult::Rejected(rejected) = result {
                    noted.push(Outcome::Rejected(rejected.code));
                }
            }
            let wrote = results
                .iter()
                .any(|r| matches!(r, BatchResult::Scheduled(_)));
            let mut answer = answer(StatusCode::OK, &BatchOut { results })?;
            answer.wrote = wrote;
            Ok(answer)
        })
        .await?;
    if answer.fresh {
        metrics.count(&counted);
    }
    Ok(answer.response)
}
