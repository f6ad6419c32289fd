//! What a person decides: whether an unconfirmed post is up, and trying a failed one again.

use actix_web::{post, web};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{body, LOG_ID, MAX_TOKEN_LEN};
use crate::error::{ApiResult, ErrorBody};
use crate::input::{body_or_default, check_text, parse_opt_time, path_id, Body};
use crate::routes::logs::{LogOut, RescheduleOut};
use crate::state::AppState;

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
