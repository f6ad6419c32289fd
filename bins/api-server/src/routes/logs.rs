//! Publish logs: one, a clip's schedule, cancelling and rescheduling.

use actix_web::{get, post, web};
use chrono::Utc;
use scheduler_core::rfc3339;
use scheduler_store::{PublishLog, Reschedule};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiResult, ErrorBody};
use crate::input::{from_value, json_value, no_body, parse_opt_time, path_id, Body};
use crate::state::AppState;

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_clip_schedule)
        .service(get_log)
        .service(cancel)
        .service(reschedule);
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
    /// `scheduled`, `pending`, `processing`, `published`, `failed`, `cancelled` or
    /// `unconfirmed`.
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
            platform: l.platform.to_string(),
            social_account_id: l.social_account_id,
            status: l.status.to_string(),
            schedule_type: l.schedule_type,
            scheduled_for: l.scheduled_for.map(rfc3339),
            scheduled_window_end: l.scheduled_window_end.map(rfc3339),
            scheduled_by: l.scheduled_by.to_string(),
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

/// Every scheduled log of a clip, whatever its status, by `scheduled_for`.
#[utoipa::path(
    tag = "publishing",
    params(("clip_id" = String, Path, description = "The clip's id")),
    responses((status = 200, body = Vec<LogOut>), (status = 404, description = "Unknown clip", body = ErrorBody))
)]
#[get("/publishing/schedule/{clip_id}")]
pub async fn list_clip_schedule(
    state: web::Data<AppState>,
    clip_id: web::Path<String>,
) -> ApiResult<web::Json<Vec<LogOut>>> {
    let clip_id = path_id("clip", clip_id)?;
    let logs = state
        .read(move |conn, _| Ok(scheduler_store::list_clip_schedule(conn, &clip_id)?))
        .await?;
    Ok(web::Json(logs.into_iter().map(LogOut::from).collect()))
}

/// One publish log.
#[utoipa::path(
    tag = "publishing",
    params(("id" = String, Path, description = "The log's id")),
    responses((status = 200, body = LogOut), (status = 404, body = ErrorBody))
)]
#[get("/publishing/logs/{id}")]
pub async fn get_log(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<web::Json<LogOut>> {
    let id = path_id("publish log", id)?;
    let log = state
        .read(move |conn, _| Ok(scheduler_store::get_log(conn, &id)?))
        .await?;
    Ok(web::Json(log.into()))
}

/// Cancel a scheduled log.
#[utoipa::path(
    tag = "publishing",
    params(("id" = String, Path, description = "The log's id")),
    responses(
        (status = 200, description = "The cancelled log", body = LogOut),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The log is not scheduled", body = ErrorBody),
    )
)]
#[post("/publishing/logs/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    id: web::Path<String>,
    Body(body): Body,
) -> ApiResult<web::Json<LogOut>> {
    no_body(&body)?;
    let id = path_id("publish log", id)?;
    let log = state
        .write(move |conn, _| Ok(scheduler_store::cancel(conn, &id, Utc::now())?))
        .await?;
    Ok(web::Json(log.into()))
}

/// Plan a scheduled log again under the rules (its own old time does not count).
#[utoipa::path(
    tag = "publishing",
    request_body(content = RescheduleIn, description = "An empty body is the next free slot from now"),
    params(("id" = String, Path, description = "The log's id")),
    responses(
        (status = 200, description = "The log and the reason", body = RescheduleOut),
        (status = 400, description = "Malformed JSON or a wrong type", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The log is not scheduled", body = ErrorBody),
        (status = 422, description = "No slot, a past time, or an absurd date", body = ErrorBody),
    )
)]
#[post("/publishing/logs/{id}/reschedule")]
pub async fn reschedule(
    state: web::Data<AppState>,
    id: web::Path<String>,
    Body(body): Body,
) -> ApiResult<web::Json<RescheduleOut>> {
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
    let id = path_id("publish log", id)?;
    let scheduled = state
        .write(move |conn, rules| {
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
