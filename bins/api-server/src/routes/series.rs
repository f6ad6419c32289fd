//! Recurring series (contract section 10): making, reading, changing and cancelling them.

mod shape;

use actix_web::{get, post, put, web, HttpResponse};
use chrono::Utc;
use scheduler_store::series::{DEFAULT_SERIES_PAGE, MAX_SERIES_PAGE};
use scheduler_store::{SeriesChange, SeriesFilter};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiResult, ErrorBody};
use crate::idempotency::{created, Idempotency, Idempotent};
use crate::input::{
    filter_text, from_value, limit, no_body, parse_bool, path_id, Body, JsonBody, Query,
};
use crate::state::AppState;
use shape::{exdates, local, parse_series, rule};
pub use shape::{OccurrenceOut, SeriesChangeIn, SeriesIn, SeriesList, SeriesOut};

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_series)
        .service(list_series)
        .service(get_series)
        .service(update_series)
        .service(cancel_series);
}

const SERIES_ID: &str = "The series' id";

/// `POST /publishing/series`'s query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreateQuery {
    /// `true` answers what would be made (200, the same shape, its id not stored) and writes
    /// nothing; default `false`.
    #[param(value_type = Option<bool>)]
    pub dry_run: Option<String>,
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
