//! Publish logs: one, a clip's schedule, cancelling and rescheduling.

use actix_web::{get, post, web};
use chrono::Utc;
use scheduler_store::cursor::LogCursor;
use scheduler_store::logs::{DEFAULT_PAGE, MAX_PAGE};
use scheduler_store::{LogFilter, Reschedule, Status};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::input::{
    body_or_default, filter_text, limit, no_body, parse_opt_time, path_id, Body, Query,
};
use crate::openapi::Platform;
use crate::state::AppState;

mod shape;
use shape::out;
pub use shape::LogOut;

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_logs)
        .service(list_batch_clip_schedule)
        .service(list_clip_schedule)
        .service(get_log)
        .service(cancel)
        .service(reschedule);
}

/// A new time for a scheduled log.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"scheduled_for": "2030-06-16T23:00:00Z"}))]
pub struct RescheduleIn {
    /// When to publish (RFC 3339; without an offset, UTC); omitted: the next free slot from
    /// now.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_for: Option<String>,
    /// The latest acceptable slot (RFC 3339, inclusive).
    #[schema(value_type = Option<String>, format = DateTime)]
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

/// Every scheduled log of a clip.
///
/// Whatever their status, by `scheduled_for` (ties: the first created first).
#[utoipa::path(
    tag = "publishing",
    params(("clip_id" = String, Path, description = "The clip's id", min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$")),
    responses(
        (status = 200, description = "The clip's logs", body = Vec<LogOut>),
        (status = 404, description = "No clip has that id (`not_found`)", body = ErrorBody),
    )
)]
#[get("/publishing/schedule/{clip_id}")]
pub async fn list_clip_schedule(
    state: web::Data<AppState>,
    clip_id: web::Path<String>,
) -> ApiResult<web::Json<Vec<LogOut>>> {
    clip_schedule(state, path_id("clip", clip_id)?).await
}

async fn clip_schedule(
    state: web::Data<AppState>,
    clip_id: String,
) -> ApiResult<web::Json<Vec<LogOut>>> {
    let logs = state
        .read(move |conn, _| Ok(out(scheduler_store::list_clip_schedule(conn, &clip_id)?)?))
        .await?;
    Ok(web::Json(logs))
}

/// The filters and the page of `GET /publishing/logs`. An empty value is no filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// Only the account's posts.
    #[param(max_length = 128, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub social_account_id: Option<String>,
    /// Only the platform's posts.
    #[param(value_type = Option<Platform>)]
    pub platform: Option<String>,
    /// Only posts with this status.
    #[param(value_type = Option<Status>)]
    pub status: Option<String>,
    /// Only posts at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<String>,
    /// Only posts before this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<String>,
    /// Only the occurrences made for this recurring series.
    #[param(max_length = 128, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub series_id: Option<String>,
    /// At most this many, 1 to 500; default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// The `next_cursor` of the page before; omitted: the first page. (Its pattern: the
    /// seconds of a time up to 9999-12-31T23:59:59Z, then the id's bytes in hex.)
    #[param(
        pattern = r"^(0|[1-9][0-9]{0,10}|1[0-9]{11}|2[0-4][0-9]{10}|25[0-2][0-9]{9}|253[0-3][0-9]{8}|25340[01][0-9]{6}|253402[0-2][0-9]{5}|253402300[0-6][0-9]{2}|2534023007[0-8][0-9]|25340230079[0-9])\.(0[1-9a-f]|[1-9a-f][0-9a-f]){1,512}$"
    )]
    pub cursor: Option<String>,
}

/// A page of logs.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogList {
    /// By `scheduled_for`, then id.
    pub items: Vec<LogOut>,
    /// Pass it as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Scheduled posts, by time.
///
/// Every post that matches all the filters given, by `scheduled_for` then id, a page at a
/// time: follow `next_cursor` until it is null. A post that moves meanwhile may be seen twice
/// or not at all; every other post is seen once.
#[utoipa::path(
    tag = "publishing",
    params(LogsQuery),
    responses(
        (status = 200, description = "A page of posts", body = LogList),
        (status = 400, description = "A bad filter, limit or cursor (`invalid_field`), or an unknown parameter (`unknown_field`)", body = ErrorBody),
        (status = 422, description = "A time outside the years 1970 to 9999 (`out_of_range`)", body = ErrorBody),
    )
)]
#[get("/publishing/logs")]
pub async fn list_logs(
    state: web::Data<AppState>,
    Query(query): Query<LogsQuery>,
) -> ApiResult<web::Json<LogList>> {
    let parse = |name: &str, value: Option<String>| filter_text(name, value);
    let (platform, status) = platform_and_status(&state.rules, query.platform, query.status)?;
    let after = query
        .cursor
        .filter(|c| !c.is_empty())
        .map(|text| {
            text.parse::<LogCursor>()
                .map_err(|e| ApiError::bad_field(format!("cursor: {e}")))
        })
        .transpose()?;
    let filter = LogFilter {
        social_account_id: parse("social_account_id", query.social_account_id)?,
        platform,
        status,
        from: parse_opt_time("from", parse("from", query.from)?.as_deref())?,
        to: parse_opt_time("to", parse("to", query.to)?.as_deref())?,
        series_id: parse("series_id", query.series_id)?,
        after,
        limit: limit(query.limit, DEFAULT_PAGE, MAX_PAGE)?,
    };
    let page = state
        .read(move |conn, _| Ok(scheduler_store::list_logs(conn, &filter)?))
        .await?;
    Ok(web::Json(LogList {
        items: out(page.logs)?,
        next_cursor: page.next.map(|c| c.to_string()),
    }))
}

/// The `platform` and `status` filters of a list: empty is no filter; an unknown platform or
/// status is 400 `invalid_field`.
pub(crate) fn platform_and_status(
    rules: &scheduler_core::RuleSet,
    platform: Option<String>,
    status: Option<String>,
) -> Result<(Option<scheduler_core::Platform>, Option<Status>), ApiError> {
    let platform = filter_text("platform", platform)?
        .map(|name| {
            rules
                .known_platform(&name)
                .map_err(|e| ApiError::bad_field(e.to_string()))
        })
        .transpose()?;
    let status = filter_text("status", status)?
        .map(|name| {
            name.parse::<Status>()
                .map_err(|e| ApiError::bad_field(e.to_string()))
        })
        .transpose()?;
    Ok((platform, status))
}

/// Every scheduled log of the clip whose id is `batch`.
///
/// `GET /publishing/schedule/{clip_id}` for the clip `batch`: the batch route shares the path,
/// so it is listed here too.
#[utoipa::path(
    tag = "publishing",
    responses(
        (status = 200, description = "The logs of the clip `batch`", body = Vec<LogOut>),
        (status = 404, description = "No clip has the id `batch` (`not_found`)", body = ErrorBody),
    )
)]
#[get("/publishing/schedule/batch")]
pub async fn list_batch_clip_schedule(
    state: web::Data<AppState>,
) -> ApiResult<web::Json<Vec<LogOut>>> {
    clip_schedule(state, "batch".to_owned()).await
}

/// One publish log.
///
/// The log as it stands now.
#[utoipa::path(
    tag = "publishing",
    params(("id" = String, Path, description = "The log's id", min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$")),
    responses(
        (status = 200, description = "The log", body = LogOut),
        (status = 404, description = "No log has that id (`not_found`)", body = ErrorBody),
    )
)]
#[get("/publishing/logs/{id}")]
pub async fn get_log(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<web::Json<LogOut>> {
    let id = path_id("publish log", id)?;
    let log = state
        .read(move |conn, _| Ok(LogOut::try_from(scheduler_store::get_log(conn, &id)?)?))
        .await?;
    Ok(web::Json(log))
}

/// Cancel a scheduled log.
///
/// Only a `scheduled` log can be cancelled; it keeps its time, and no longer counts for the
/// account's gaps. Takes no body (or `{}`).
#[utoipa::path(
    tag = "publishing",
    params(("id" = String, Path, description = "The log's id", min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$")),
    responses(
        (status = 200, description = "The cancelled log", body = LogOut),
        (status = 404, description = "No log has that id (`not_found`)", body = ErrorBody),
        (status = 409, description = "The log is not scheduled (`invalid_state`)", body = ErrorBody),
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
        .write(move |conn, _| {
            Ok(LogOut::try_from(scheduler_store::cancel(
                conn,
                &id,
                Utc::now(),
            )?)?)
        })
        .await?;
    Ok(web::Json(log))
}

/// Plan a scheduled log again.
///
/// Under the rules, as a new request would be, except that the log's own old time does not
/// count as a conflict. An empty body is the next free slot from now.
#[utoipa::path(
    tag = "publishing",
    request_body(content = RescheduleIn, description = "The new time; an empty body is the next free slot from now"),
    params(("id" = String, Path, description = "The log's id", min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$")),
    responses(
        (status = 200, description = "The log and the reason", body = RescheduleOut),
        (status = 400, description = "Malformed JSON (`malformed_json`), a wrong type (`invalid_field`) or an unknown field (`unknown_field`)", body = ErrorBody),
        (status = 404, description = "No log has that id (`not_found`)", body = ErrorBody),
        (status = 409, description = "The log is not scheduled (`invalid_state`)", body = ErrorBody),
        (status = 422, description = "No slot (`no_slot`), a past time (`past_time`), or a year outside 1970 to 9999 (`out_of_range`)", body = ErrorBody),
    )
)]
#[post("/publishing/logs/{id}/reschedule")]
pub async fn reschedule(
    state: web::Data<AppState>,
    id: web::Path<String>,
    Body(body): Body,
) -> ApiResult<web::Json<RescheduleOut>> {
    let input: RescheduleIn = body_or_default(&body)?;
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
        log: scheduled.log.try_into()?,
    }))
}
