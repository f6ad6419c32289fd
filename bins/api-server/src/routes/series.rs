//! Recurring series (contract section 10): making, reading, changing and cancelling them.

use actix_web::http::StatusCode;
use actix_web::{get, post, put, web, HttpResponse};
use chrono::{NaiveDateTime, Utc};
use scheduler_core::{local_text, parse_local, rfc3339, LocalTimeError, Rrule, RuleSet};
use scheduler_store::series::{DEFAULT_SERIES_PAGE, MAX_EXDATES, MAX_SERIES_PAGE};
use scheduler_store::{
    NewSeries, ScheduledBy, SeriesChange, SeriesFilter, SeriesStatus, SeriesView, Status,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use crate::idempotency::{created, Idempotency, Idempotent};
use crate::input::{
    filter_text, from_value, limit, no_body, parse_bool, path_id, Body, JsonBody, Query,
};
use crate::openapi::Platform;
use crate::routes::schedule::check_target;
use crate::state::AppState;

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_series)
        .service(list_series)
        .service(get_series)
        .service(update_series)
        .service(cancel_series);
}

const SERIES_ID: &str = "The series' id";

/// A series to make.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"clip_id": "clip_demo", "social_account_id": "acc_demo", "platform": "instagram", "dtstart": "2027-03-01T18:30:00", "rrule": "FREQ=WEEKLY;BYDAY=MO,TH", "exdates": ["2027-03-11T18:30:00"]}))]
pub struct SeriesIn {
    /// The clip every occurrence publishes.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub clip_id: String,
    /// The account to publish on.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub social_account_id: String,
    /// The platform; it must be the account's.
    #[schema(value_type = Platform)]
    pub platform: String,
    /// The first occurrence: a local date-time without offset, read in the account's zone.
    #[schema(
        example = "2027-03-01T18:30:00",
        pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"
    )]
    pub dtstart: String,
    /// RFC 5545's RRULE (the `RRULE:` prefix optional): `FREQ` `DAILY`, `WEEKLY` or
    /// `MONTHLY`, `INTERVAL`, `BYDAY` (`MO`; with `MONTHLY` also `1MO`, `-1FR`), `BYMONTHDAY`,
    /// `BYHOUR`, `BYMINUTE`, `COUNT`, `UNTIL`, `WKST`. Any other part is 422 naming it.
    #[schema(example = "FREQ=WEEKLY;BYDAY=MO,TH", min_length = 1, max_length = 1024)]
    pub rrule: String,
    /// Local date-times removed from the set (at most 1,000).
    #[schema(value_type = Option<Vec<String>>, max_items = 1000)]
    pub exdates: Option<Vec<String>>,
    /// Who asks; omitted: `manual`.
    #[schema(value_type = Option<ScheduledBy>)]
    pub scheduled_by: Option<String>,
}

/// A change of a series' rule: each field given replaces the series' own.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"rrule": "FREQ=WEEKLY;BYDAY=TU,FR"}))]
pub struct SeriesChangeIn {
    /// A new first occurrence (local date-time without offset).
    #[schema(
        example = "2027-03-02T19:00:00",
        pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"
    )]
    pub dtstart: Option<String>,
    /// A new rule.
    #[schema(min_length = 1, max_length = 1024)]
    pub rrule: Option<String>,
    /// The new excluded dates, all of them (an empty list removes every one).
    #[schema(value_type = Option<Vec<String>>, max_items = 1000)]
    pub exdates: Option<Vec<String>>,
}

/// One of a series' next occurrences.
#[derive(Debug, Serialize, ToSchema)]
pub struct OccurrenceOut {
    /// The local date-time the rule gives, in the account's zone.
    #[schema(example = "2027-03-01T18:30:00")]
    pub occurrence: String,
    /// When that is (RFC 3339, UTC).
    #[schema(value_type = String, format = DateTime)]
    pub occurrence_at: String,
    /// Its slot: the made log's, or where the rules would put it now; null when no slot fits.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_for: Option<String>,
    /// Why the slot differs from the occurrence (`Scheduled as requested` when it does not),
    /// or why there is none.
    pub reason: String,
    /// The log made for it; null while it lies beyond the horizon.
    #[schema(max_length = 128)]
    pub publish_log_id: Option<String>,
    /// That log's status; null while none is made.
    #[schema(value_type = Option<Status>)]
    pub status: Option<String>,
}

/// A recurring series.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "ser_0193a1b2c3d4e5f6a7b8c9d0e1f2a3b4", "clip_id": "clip_demo", "social_account_id": "acc_demo",
    "platform": "instagram", "timezone": "America/New_York", "dtstart": "2027-03-01T18:30:00",
    "rrule": "FREQ=WEEKLY;BYDAY=MO,TH", "exdates": [], "scheduled_by": "manual", "status": "active",
    "created_at": "2027-02-20T10:00:00Z", "updated_at": "2027-02-20T10:00:00Z",
    "next_occurrences": [{"occurrence": "2027-03-01T18:30:00", "occurrence_at": "2027-03-01T23:30:00Z",
        "scheduled_for": "2027-03-01T23:30:00Z", "reason": "Scheduled as requested",
        "publish_log_id": "log_0193a1b2c3d4e5f6a7b8c9d0e1f2a3b5", "status": "scheduled"}]
}))]
pub struct SeriesOut {
    /// `ser_…`.
    #[schema(min_length = 1, max_length = 128)]
    pub id: String,
    /// The clip.
    #[schema(max_length = 128)]
    pub clip_id: String,
    /// The account.
    #[schema(max_length = 128)]
    pub social_account_id: String,
    /// The account's platform.
    #[schema(value_type = Platform)]
    pub platform: String,
    /// The account's zone (IANA), in which `dtstart`, `exdates` and occurrences are read.
    pub timezone: String,
    /// The first occurrence, local.
    pub dtstart: String,
    /// The rule, written back in a fixed order without the `RRULE:` prefix.
    pub rrule: String,
    /// Excluded local date-times, sorted.
    pub exdates: Vec<String>,
    /// Who asked.
    #[schema(value_type = ScheduledBy)]
    pub scheduled_by: String,
    /// `active`, or `cancelled` (no more occurrences are made).
    #[schema(value_type = SeriesStatus)]
    pub status: String,
    /// When it was made.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
    /// When its rule last changed, or it was cancelled.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: String,
    /// The next 10 occurrences from now: made ones as their logs stand, later ones planned
    /// among the account's posts as they are now. Empty once cancelled or ended.
    pub next_occurrences: Vec<OccurrenceOut>,
}

impl From<SeriesView> for SeriesOut {
    fn from(v: SeriesView) -> Self {
        let s = v.series;
        Self {
            id: s.id,
            clip_id: s.clip_id,
            social_account_id: s.social_account_id,
            platform: s.platform.to_string(),
            timezone: v.timezone.to_string(),
            dtstart: local_text(s.dtstart),
            rrule: s.rule.to_string(),
            exdates: s.exdates.iter().map(|t| local_text(*t)).collect(),
            scheduled_by: s.scheduled_by.to_string(),
            status: s.status.to_string(),
            created_at: rfc3339(s.created_at),
            updated_at: rfc3339(s.updated_at),
            next_occurrences: v
                .next_occurrences
                .into_iter()
                .map(|o| OccurrenceOut {
                    occurrence: local_text(o.occurrence),
                    occurrence_at: rfc3339(o.occurrence_at),
                    scheduled_for: o.scheduled_for.map(rfc3339),
                    reason: o.reason,
                    publish_log_id: o.log.as_ref().map(|(id, _)| id.clone()),
                    status: o.log.map(|(_, status)| status.to_string()),
                })
                .collect(),
        }
    }
}

/// A page of series.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesList {
    /// Oldest first.
    pub items: Vec<SeriesOut>,
    /// Pass it as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /publishing/series`'s query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreateQuery {
    /// `true` answers what would be made (200, the same shape, its id not stored) and writes
    /// nothing; default `false`.
    #[param(value_type = Option<bool>)]
    pub dry_run: Option<String>,
}

/// A local date-time field: 422 `invalid_field` unless it is one (`out_of_range` outside the
/// years 1970 to 9999).
fn local(field: &str, text: &str) -> Result<NaiveDateTime, ApiError> {
    parse_local(text).map_err(|e| {
        let code = match e {
            LocalTimeError::Malformed => ErrorCode::InvalidField,
            LocalTimeError::OutOfRange => ErrorCode::OutOfRange,
        };
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            format!("{field}: {e}, got {:?}", scheduler_core::shown(text)),
        )
    })
}

fn rule(text: &str) -> Result<Rrule, ApiError> {
    text.parse()
        .map_err(|e: scheduler_core::RruleError| ApiError::unacceptable(format!("rrule: {e}")))
}

fn exdates(texts: &[String]) -> Result<Vec<NaiveDateTime>, ApiError> {
    if texts.len() > MAX_EXDATES {
        return Err(ApiError::unacceptable(format!(
            "exdates holds at most {MAX_EXDATES} date-times, got {}",
            texts.len()
        )));
    }
    texts.iter().map(|t| local("exdates", t)).collect()
}

/// Checks a series request; every error is a 400 or 422.
fn parse_series(rules: &RuleSet, value: Value) -> Result<NewSeries, ApiError> {
    let input: SeriesIn = from_value(value)?;
    let scheduled_by = check_target(
        rules,
        (&input.clip_id, &input.social_account_id, &input.platform),
        input.scheduled_by.as_deref(),
    )?;
    Ok(NewSeries {
        dtstart: local("dtstart", &input.dtstart)?,
        rule: rule(&input.rrule)?,
        exdates: exdates(input.exdates.as_deref().unwrap_or_default())?,
        clip_id: input.clip_id,
        social_account_id: input.social_account_id,
        platform: input.platform,
        scheduled_by,
    })
}

/// Make a recurring series.
///
/// Occurrences are local wall-clock times in the account's zone, counted from `dtstart`:
/// a time the clocks skip moves forward by the gap (02:30 → 03:30), one they read twice is
/// the first. Every occurrence within the rules' `series_horizon_days` (default 14) is made
/// into an ordinary publish log now, planned like any request (moved with a reason when the
/// rules demand), and every tick makes the next ones; each exactly once.
#[utoipa::path(
    tag = "series", request_body = SeriesIn, params(CreateQuery, Idempotency),
    responses(
        (status = 201, description = "Made, with its occurrences within the horizon", body = SeriesOut, headers(("Location" = String, description = "Where the series is read: `/publishing/series/{id}`"))),
        (status = 200, description = "With `dry_run`: what would be made; nothing was written", body = SeriesOut),
        (status = 400, description = "Malformed JSON (`malformed_json`), a wrong type or a bad `dry_run` (`invalid_field`), or an unknown field (`unknown_field`)", body = ErrorBody),
        (status = 422, description = "An unknown clip (`clip_not_found`), account (`account_not_found`) or platform (`unknown_platform`), another platform than the account's (`platform_mismatch`), a rule part the scheduler does not take or a bad `dtstart`, `exdates` or `scheduled_by` (`invalid_field`), a year outside 1970 to 9999 (`out_of_range`), no occurrence from now on (`past_time`)", body = ErrorBody),
    )
)]
#[post("/publishing/series")]
pub async fn create_series(
    state: web::Data<AppState>,
    Query(query): Query<CreateQuery>,
    request: Idempotent,
) -> ApiResult<HttpResponse> {
    let dry_run = parse_bool("dry_run", query.dry_run.as_deref())?;
    let Idempotent { body, key } = request;
    let new = parse_series(&state.rules, body)?;
    if dry_run {
        let view = state
            .read(move |conn, rules| {
                Ok(scheduler_store::preview_series(
                    conn,
                    rules,
                    &new,
                    Utc::now(),
                )?)
            })
            .await?;
        return Ok(HttpResponse::Ok().json(SeriesOut::from(view)));
    }
    let written = state
        .write_idempotent(key, move |conn, rules, now| {
            let view = scheduler_store::create_series(conn, rules, &new, now)?;
            let out = SeriesOut::from(view);
            created("/publishing/series", &out.id, &out)
        })
        .await?;
    Ok(written.response)
}

/// `GET /publishing/series`'s query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// Only the account's series.
    #[param(max_length = 128, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub social_account_id: Option<String>,
    /// At most this many, 1 to 100; default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the page before; omitted: the first page.
    #[param(max_length = 128, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub cursor: Option<String>,
}

/// Recurring series, with their next occurrences.
///
/// Oldest first, a page at a time: follow `next_cursor` until it is null.
#[utoipa::path(
    tag = "series",
    params(SeriesQuery),
    responses(
        (status = 200, description = "A page of series", body = SeriesList),
        (status = 400, description = "A bad filter, limit or cursor (`invalid_field`), or an unknown parameter (`unknown_field`)", body = ErrorBody),
    )
)]
#[get("/publishing/series")]
pub async fn list_series(
    state: web::Data<AppState>,
    Query(query): Query<SeriesQuery>,
) -> ApiResult<web::Json<SeriesList>> {
    let filter = SeriesFilter {
        social_account_id: filter_text("social_account_id", query.social_account_id)?,
        after: filter_text("cursor", query.cursor)?,
        limit: limit(query.limit, DEFAULT_SERIES_PAGE, MAX_SERIES_PAGE)?,
    };
    let page = state
        .read(move |conn, rules| {
            Ok(scheduler_store::list_series(
                conn,
                rules,
                &filter,
                Utc::now(),
            )?)
        })
        .await?;
    Ok(web::Json(SeriesList {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next,
    }))
}

/// One recurring series, with its next occurrences.
///
/// The next 10 occurrences from now: those within the horizon as their logs stand (moved,
/// published or cancelled by a person), later ones as the rules would plan them now.
#[utoipa::path(
    tag = "series",
    params(("id" = String, Path, description = SERIES_ID, min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$")),
    responses(
        (status = 200, description = "The series", body = SeriesOut),
        (status = 404, description = "No series has that id (`not_found`)", body = ErrorBody),
    )
)]
#[get("/publishing/series/{id}")]
pub async fn get_series(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<web::Json<SeriesOut>> {
    let id = path_id("publish series", id)?;
    let view = state
        .read(move |conn, rules| Ok(scheduler_store::get_series(conn, rules, &id, Utc::now())?))
        .await?;
    Ok(web::Json(view.into()))
}

/// Change a series' rule.
///
/// Its `scheduled` occurrences that the new rule no longer gives are cancelled; the new
/// rule's occurrences within the horizon are made. Occurrences already made that still fit
/// keep their logs, and an occurrence a person cancelled stays cancelled.
#[utoipa::path(
    tag = "series",
    request_body = SeriesChangeIn,
    params(("id" = String, Path, description = SERIES_ID, min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$")),
    responses(
        (status = 200, description = "The changed series", body = SeriesOut),
        (status = 400, description = "Malformed JSON (`malformed_json`), a wrong type (`invalid_field`) or an unknown field (`unknown_field`)", body = ErrorBody),
        (status = 404, description = "No series has that id (`not_found`)", body = ErrorBody),
        (status = 409, description = "The series is cancelled (`invalid_state`)", body = ErrorBody),
        (status = 422, description = "A rule part the scheduler does not take or a bad `dtstart` or `exdates` (`invalid_field`), a year outside 1970 to 9999 (`out_of_range`), no occurrence from now on (`past_time`)", body = ErrorBody),
    )
)]
#[put("/publishing/series/{id}")]
pub async fn update_series(
    state: web::Data<AppState>,
    id: web::Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<web::Json<SeriesOut>> {
    let id = path_id("publish series", id)?;
    let input: SeriesChangeIn = from_value(body)?;
    let change = SeriesChange {
        dtstart: input
            .dtstart
            .as_deref()
            .map(|t| local("dtstart", t))
            .transpose()?,
        rule: input.rrule.as_deref().map(rule).transpose()?,
        exdates: input.exdates.as_deref().map(exdates).transpose()?,
    };
    let view = state
        .write(move |conn, rules| {
            Ok(scheduler_store::update_series(
                conn,
                rules,
                &id,
                &change,
                Utc::now(),
            )?)
        })
        .await?;
    Ok(web::Json(view.into()))
}

/// Cancel a series.
///
/// Its `scheduled` occurrences are cancelled and no more are made; posts already handed to
/// a worker or published are left as they are. Cancelling a cancelled series changes nothing.
/// Takes no body (or `{}`).
#[utoipa::path(
    tag = "series",
    params(("id" = String, Path, description = SERIES_ID, min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$")),
    responses(
        (status = 200, description = "The cancelled series", body = SeriesOut),
        (status = 400, description = "A body other than `{}` (`unknown_field`, `malformed_json`)", body = ErrorBody),
        (status = 404, description = "No series has that id (`not_found`)", body = ErrorBody),
    )
)]
#[post("/publishing/series/{id}/cancel")]
pub async fn cancel_series(
    state: web::Data<AppState>,
    id: web::Path<String>,
    Body(body): Body,
) -> ApiResult<web::Json<SeriesOut>> {
    let id = path_id("publish series", id)?;
    no_body(&body)?;
    let view = state
        .write(move |conn, rules| {
            Ok(scheduler_store::cancel_series(
                conn,
                rules,
                &id,
                Utc::now(),
            )?)
        })
        .await?;
    Ok(web::Json(view.into()))
}
