//! The publishing endpoints: schedule (one or a batch), list a clip's schedule, read, cancel
//! and reschedule a log, and the tick.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use scheduler_core::{rfc3339, Platform, RuleSet};
use scheduler_store::{NewSchedule, PublishLog, Reschedule, Scheduled, ScheduledBy};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{blocking, Access, AppState};
use crate::error::{ApiError, ApiResult, ErrorBody, Rejected};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::input::MAX_NAME_LEN;
use crate::input::{
    check_id, check_text, from_value, is_valid_id, json_value, no_body, parse_opt_time, Body,
};

/// The most requests one batch may hold.
pub const MAX_BATCH: usize = 500;
/// How many logs one tick transaction moves.
pub const TICK_BATCH_SIZE: u32 = 500;

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
            status: s.log.status,
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

/// A publish log.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogOut {
    /// `log_…`.
    pub id: String,
    /// The clip.
    pub clip_id: String,
    /// The platform.
    pub platform: String,
    /// The account.
    pub social_account_id: String,
    /// `scheduled`, `pending`, `cancelled`, `processing`, `published` or `failed`.
    pub status: String,
    /// `scheduled`.
    pub schedule_type: String,
    /// When to publish (RFC 3339, UTC).
    pub scheduled_for: Option<String>,
    /// The latest acceptable time.
    pub scheduled_window_end: Option<String>,
    /// Who asked.
    pub scheduled_by: String,
    /// When it was created.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
}

impl From<PublishLog> for LogOut {
    fn from(l: PublishLog) -> Self {
        Self {
            id: l.id,
            clip_id: l.clip_id,
            platform: l.platform,
            social_account_id: l.social_account_id,
            status: l.status,
            schedule_type: l.schedule_type,
            scheduled_for: l.scheduled_for.map(rfc3339),
            scheduled_window_end: l.scheduled_window_end.map(rfc3339),
            scheduled_by: l.scheduled_by,
            created_at: rfc3339(l.created_at),
            updated_at: rfc3339(l.updated_at),
        }
    }
}

/// A new time for a scheduled log.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RescheduleIn {
    /// When to publish (RFC 3339); omitted: the next free slot from now.
    pub scheduled_for: Option<String>,
    /// The latest acceptable slot (RFC 3339, inclusive).
    pub scheduled_window_end: Option<String>,
}

/// A rescheduled log and the planner's reason.
#[derive(Debug, Serialize, ToSchema)]
pub struct RescheduleOut {
    /// The log.
    #[serde(flatten)]
    pub log: LogOut,
    /// Why the time differs from the request, or `Scheduled as requested`.
    pub reason: String,
}

/// The tick's query.
#[derive(Debug, Deserialize)]
pub struct TickQuery {
    /// `true` counts and lists without changing anything.
    pub dry_run: Option<String>,
}

/// What a tick did.
#[derive(Debug, Serialize, ToSchema)]
pub struct TickOut {
    /// How many logs moved to `pending` (or are due, on a dry run).
    pub moved: usize,
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// The logs, oldest due first.
    pub log_ids: Vec<String>,
}

/// Checks one schedule request; every error is a 400 or 422.
fn parse_request(rules: &RuleSet, value: Value) -> Result<NewSchedule, ApiError> {
    let input: ScheduleIn = from_value(value)?;
    check_id("clip_id", &input.clip_id)?;
    check_id("social_account_id", &input.social_account_id)?;
    check_text("platform", &input.platform, MAX_NAME_LEN)?;
    Platform::parse(&input.platform)
        .ok()
        .filter(|p| rules.get(p).is_some())
        .ok_or_else(|| ApiError::Unprocessable(format!("Unknown platform: {}", input.platform)))?;
    let scheduled_by = match &input.scheduled_by {
        None => ScheduledBy::Manual,
        Some(name) => name.parse().map_err(ApiError::Unprocessable)?,
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
    post, path = "/publishing/schedule", tag = "publishing", request_body = ScheduleIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first answer")),
    responses(
        (status = 201, description = "Scheduled", body = ScheduleOk),
        (status = 400, description = "Malformed JSON or a wrong type", body = Rejected),
        (status = 422, description = "Rejected: unknown clip, account or platform, platform mismatch, past time, no slot, bad scheduled_by", body = Rejected),
    ),
    security(("bearer" = []))
)]
pub async fn schedule(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Result<Body, ApiError>,
) -> ApiResult<HttpResponse> {
    schedule_one(state, req, body)
        .await
        .map_err(ApiError::into_schedule_error)
}

async fn schedule_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Result<Body, ApiError>,
) -> ApiResult<HttpResponse> {
    let Body(body) = body?;
    let value = json_value(&body)?;
    let key = IdempotencyKey::from_request(&req, "POST /publishing/schedule", &value)?;
    let request = parse_request(&state.rules, value)?;
    let reply = blocking(&state, Access::Write, move |conn, rules| {
        let now = Utc::now();
        idempotency::run(conn, key.as_ref(), now, |conn| {
            let scheduled = scheduler_store::schedule(conn, rules, &request, now)?;
            Reply::json(StatusCode::CREATED, &ScheduleOk::from(scheduled))
        })
    })
    .await?;
    Ok(reply.into_response())
}

/// Schedule up to 500 posts in order; later ones respect the earlier ones' gaps.
#[utoipa::path(
    post, path = "/publishing/schedule/batch", tag = "publishing", request_body = BatchIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first answer")),
    responses(
        (status = 200, description = "One answer per item, in order", body = BatchOut),
        (status = 400, description = "Malformed JSON, `items` not a list, or over 500 items", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn schedule_batch(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body,
) -> ApiResult<HttpResponse> {
    let value = json_value(&body)?;
    let key = IdempotencyKey::from_request(&req, "POST /publishing/schedule/batch", &value)?;
    let items = match value {
        Value::Object(mut map) => match map.remove("items") {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(ApiError::BadRequest(
                    "items must be a list of schedule requests".to_owned(),
                ))
            }
        },
        _ => {
            return Err(ApiError::BadRequest(
                "expected a JSON object {\"items\": […]}".to_owned(),
            ))
        }
    };
    if items.len() > MAX_BATCH {
        return Err(ApiError::BadRequest(format!(
            "a batch holds at most {MAX_BATCH} items, got {}",
            items.len()
        )));
    }
    // Each item is checked on its own; the valid ones go to the store in order.
    let parsed: Vec<Result<NewSchedule, String>> = items
        .into_iter()
        .map(|item| parse_request(&state.rules, item).map_err(|e| e.to_string()))
        .collect();
    let reply = blocking(&state, Access::Write, move |conn, rules| {
        let now = Utc::now();
        idempotency::run(conn, key.as_ref(), now, |conn| {
            let requests: Vec<NewSchedule> = parsed
                .iter()
                .filter_map(|p| p.as_ref().ok())
                .cloned()
                .collect();
            let mut outcomes =
                scheduler_store::schedule_batch(conn, rules, &requests, now)?.into_iter();
            let mut results = Vec::with_capacity(parsed.len());
            for item in &parsed {
                let outcome = match item {
                    Err(reason) => Err(reason.clone()),
                    Ok(_) => outcomes.next().ok_or_else(|| {
                        scheduler_store::StoreError::Corrupt(
                            "the batch returned fewer results than requests".to_owned(),
                        )
                    })?,
                };
                results.push(match outcome {
                    Ok(scheduled) => BatchResult::Scheduled(scheduled.into()),
                    Err(reason) => BatchResult::Rejected(Rejected::new(reason)),
                });
            }
            let wrote_nothing = results
                .iter()
                .all(|r| matches!(r, BatchResult::Rejected(_)));
            let reply = Reply::json(StatusCode::OK, &BatchOut { results })?;
            Ok(if wrote_nothing {
                reply.wrote_nothing()
            } else {
                reply
            })
        })
    })
    .await?;
    Ok(reply.into_response())
}

async fn list_logs(
    state: web::Data<AppState>,
    clip_id: String,
) -> ApiResult<web::Json<Vec<LogOut>>> {
    if !is_valid_id(&clip_id) {
        return Err(ApiError::NotFound(format!("clip not found: {clip_id}")));
    }
    let logs = blocking(&state, Access::Read, move |conn, _| {
        Ok(scheduler_store::list_clip_schedule(conn, &clip_id)?)
    })
    .await?;
    Ok(web::Json(logs.into_iter().map(LogOut::from).collect()))
}

/// Every scheduled log of a clip, whatever its status, by `scheduled_for`.
#[utoipa::path(
    get, path = "/publishing/schedule/{clip_id}", tag = "publishing",
    params(("clip_id" = String, Path, description = "The clip's id")),
    responses((status = 200, body = Vec<LogOut>), (status = 404, description = "Unknown clip", body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_clip_schedule(
    state: web::Data<AppState>,
    clip_id: web::Path<String>,
) -> ApiResult<web::Json<Vec<LogOut>>> {
    list_logs(state, clip_id.into_inner()).await
}

/// `GET /publishing/schedule/batch`: the schedule of a clip whose id is `batch`.
pub async fn list_batch_clip(state: web::Data<AppState>) -> ApiResult<web::Json<Vec<LogOut>>> {
    list_logs(state, "batch".to_owned()).await
}

fn check_log_id(id: &str) -> Result<(), ApiError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("publish log not found: {id}")))
    }
}

/// One publish log.
#[utoipa::path(
    get, path = "/publishing/logs/{id}", tag = "publishing",
    params(("id" = String, Path, description = "The log's id")),
    responses((status = 200, body = LogOut), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_log(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<web::Json<LogOut>> {
    let id = id.into_inner();
    check_log_id(&id)?;
    let log = blocking(&state, Access::Read, move |conn, _| {
        Ok(scheduler_store::get_log(conn, &id)?)
    })
    .await?;
    Ok(web::Json(log.into()))
}

/// Cancel a scheduled log.
#[utoipa::path(
    post, path = "/publishing/logs/{id}/cancel", tag = "publishing",
    params(("id" = String, Path, description = "The log's id")),
    responses(
        (status = 200, description = "The cancelled log", body = LogOut),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The log is not scheduled", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn cancel(
    state: web::Data<AppState>,
    id: web::Path<String>,
    Body(body): Body,
) -> ApiResult<web::Json<LogOut>> {
    no_body(&body)?;
    let id = id.into_inner();
    check_log_id(&id)?;
    let log = blocking(&state, Access::Write, move |conn, _| {
        Ok(scheduler_store::cancel(conn, &id, Utc::now())?)
    })
    .await?;
    Ok(web::Json(log.into()))
}

/// Plan a scheduled log again under the rules (its own old time does not count).
#[utoipa::path(
    post, path = "/publishing/logs/{id}/reschedule", tag = "publishing",
    request_body(content = RescheduleIn, description = "An empty body is the next free slot from now"),
    params(("id" = String, Path, description = "The log's id")),
    responses(
        (status = 200, description = "The log and the reason", body = RescheduleOut),
        (status = 400, description = "Malformed JSON or a wrong type", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The log is not scheduled", body = ErrorBody),
        (status = 422, description = "No slot, a past time, or an absurd date", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn reschedule(
    state: web::Data<AppState>,
    id: web::Path<String>,
    Body(body): Body,
) -> ApiResult<web::Json<RescheduleOut>> {
    let id = id.into_inner();
    let input: RescheduleIn = if body.iter().all(u8::is_ascii_whitespace) {
        RescheduleIn::default()
    } else {
        from_value(json_value(&body)?)?
    };
    let change = Reschedule {
        scheduled_for: parse_opt_time("scheduled_for", input.scheduled_for.as_deref())?,
        scheduled_window_end: parse_opt_time(
            "scheduled_window_end",
            input.scheduled_window_end.as_deref(),
        )?,
    };
    check_log_id(&id)?;
    let scheduled = blocking(&state, Access::Write, move |conn, rules| {
        Ok(scheduler_store::reschedule(
            conn,
            rules,
            &id,
            &change,
            Utc::now(),
        )?)
    })
    .await?;
    Ok(web::Json(RescheduleOut {
        reason: scheduled.reason,
        log: scheduled.log.into(),
    }))
}

fn parse_bool(name: &str, value: Option<&str>) -> Result<bool, ApiError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "false" | "0" | "no" | "off") => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some(_) => Err(ApiError::BadRequest(format!(
            "{name} must be true or false"
        ))),
    }
}

/// The tick: moves every due `scheduled` log to `pending`.
#[utoipa::path(
    post, path = "/publishing/scheduler/tick", tag = "publishing",
    params(("dry_run" = Option<bool>, Query, description = "Count and list without changing anything")),
    responses((status = 200, body = TickOut), (status = 400, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn tick(
    state: web::Data<AppState>,
    query: web::Query<TickQuery>,
    Body(body): Body,
) -> ApiResult<web::Json<TickOut>> {
    no_body(&body)?;
    let dry_run = parse_bool("dry_run", query.dry_run.as_deref())?;
    let db = state.db.clone();
    let outcome = blocking(&state, Access::WriteBatches, move |conn, _| {
        Ok(db.tick(conn, TICK_BATCH_SIZE, dry_run, Utc::now())?)
    })
    .await?;
    Ok(web::Json(TickOut {
        moved: outcome.moved,
        dry_run: outcome.dry_run,
        log_ids: outcome.log_ids,
    }))
}
