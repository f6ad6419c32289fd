//! `POST /accounts`, `GET /accounts/{id}`, `POST /clips`, `GET /clips/{id}`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use scheduler_core::rfc3339;
use scheduler_store::{Account, Clip, NewAccount, NewClip};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{blocking, Access, AppState};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::input::{check_id, check_text, from_value, is_valid_id, json_value, Body};
use crate::input::{MAX_NAME_LEN, MAX_TEXT_LEN};

/// A social account to create.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AccountIn {
    /// The id to use (1 to 128 characters, no whitespace); omitted: a new `acc_…` id.
    pub id: Option<String>,
    /// `instagram`, `tiktok`, `youtube` or a platform of the rules file.
    pub platform: String,
    /// The account's handle.
    pub handle: Option<String>,
    /// An IANA time zone name; omitted: `UTC`.
    pub timezone: Option<String>,
}

/// A social account.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountOut {
    /// Its id.
    pub id: String,
    /// Its platform.
    pub platform: String,
    /// Its handle.
    pub handle: Option<String>,
    /// The IANA zone of its posting windows.
    pub timezone: String,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
}

impl From<Account> for AccountOut {
    fn from(a: Account) -> Self {
        Self {
            id: a.id,
            platform: a.platform.to_string(),
            handle: a.handle,
            timezone: a.timezone.name().to_owned(),
            created_at: rfc3339(a.created_at),
        }
    }
}

/// A clip to create.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ClipIn {
    /// The id to use (1 to 128 characters, no whitespace); omitted: a new `clip_…` id.
    pub id: Option<String>,
    /// Its title.
    pub title: Option<String>,
    /// Where the media is.
    pub media_url: Option<String>,
}

/// A clip.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClipOut {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: Option<String>,
    /// Where the media is.
    pub media_url: Option<String>,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
}

impl From<Clip> for ClipOut {
    fn from(c: Clip) -> Self {
        Self {
            id: c.id,
            title: c.title,
            media_url: c.media_url,
            created_at: rfc3339(c.created_at),
        }
    }
}

/// Create a social account.
#[utoipa::path(
    post, path = "/accounts", tag = "accounts", request_body = AccountIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first answer")),
    responses(
        (status = 201, body = AccountOut),
        (status = 400, description = "Malformed JSON or a wrong type", body = ErrorBody),
        (status = 409, description = "The id is taken", body = ErrorBody),
        (status = 422, description = "Unknown platform or time zone, bad id", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body,
) -> ApiResult<HttpResponse> {
    let value = json_value(&body)?;
    let key = IdempotencyKey::from_request(&req, "POST /accounts", &value)?;
    let input: AccountIn = from_value(value)?;
    if let Some(id) = &input.id {
        check_id("id", id)?;
    }
    check_text("platform", &input.platform, MAX_NAME_LEN)?;
    if let Some(handle) = &input.handle {
        check_text("handle", handle, MAX_TEXT_LEN)?;
    }
    if let Some(zone) = &input.timezone {
        check_text("timezone", zone, MAX_NAME_LEN)?;
    }
    let new = NewAccount {
        id: input.id,
        platform: input.platform,
        handle: input.handle,
        timezone: input.timezone,
    };
    let reply = blocking(&state, Access::Write, move |conn, rules| {
        let now = Utc::now();
        idempotency::run(conn, key.as_ref(), now, |conn| {
            let account = scheduler_store::create_account(conn, rules, &new, now)?;
            Reply::json(StatusCode::CREATED, &AccountOut::from(account))
        })
    })
    .await?;
    Ok(reply.into_response())
}

/// One social account.
#[utoipa::path(
    get, path = "/accounts/{id}", tag = "accounts",
    params(("id" = String, Path, description = "The account's id")),
    responses((status = 200, body = AccountOut), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_account(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<web::Json<AccountOut>> {
    let id = id.into_inner();
    if !is_valid_id(&id) {
        return Err(ApiError::NotFound(format!("account not found: {id}")));
    }
    let account = blocking(&state, Access::Read, move |conn, _| {
        Ok(scheduler_store::get_account(conn, &id)?)
    })
    .await?;
    Ok(web::Json(account.into()))
}

/// Create a clip.
#[utoipa::path(
    post, path = "/clips", tag = "clips", request_body = ClipIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first answer")),
    responses(
        (status = 201, body = ClipOut),
        (status = 400, description = "Malformed JSON or a wrong type", body = ErrorBody),
        (status = 409, description = "The id is taken", body = ErrorBody),
        (status = 422, description = "A bad id or an overlong field", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_clip(
    state: web::Data<AppState>,
    req: HttpRequest,
    Body(body): Body,
) -> ApiResult<HttpResponse> {
    let value = json_value(&body)?;
    let key = IdempotencyKey::from_request(&req, "POST /clips", &value)?;
    let input: ClipIn = from_value(value)?;
    if let Some(id) = &input.id {
        check_id("id", id)?;
    }
    if let Some(title) = &input.title {
        check_text("title", title, MAX_TEXT_LEN)?;
    }
    if let Some(url) = &input.media_url {
        check_text("media_url", url, MAX_TEXT_LEN)?;
    }
    let new = NewClip {
        id: input.id,
        title: input.title,
        media_url: input.media_url,
    };
    let reply = blocking(&state, Access::Write, move |conn, _| {
        let now = Utc::now();
        idempotency::run(conn, key.as_ref(), now, |conn| {
            let clip = scheduler_store::create_clip(conn, &new, now)?;
            Reply::json(StatusCode::CREATED, &ClipOut::from(clip))
        })
    })
    .await?;
    Ok(reply.into_response())
}

/// One clip.
#[utoipa::path(
    get, path = "/clips/{id}", tag = "clips",
    params(("id" = String, Path, description = "The clip's id")),
    responses((status = 200, body = ClipOut), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_clip(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<web::Json<ClipOut>> {
    let id = id.into_inner();
    if !is_valid_id(&id) {
        return Err(ApiError::NotFound(format!("clip not found: {id}")));
    }
    let clip = blocking(&state, Access::Read, move |conn, _| {
        Ok(scheduler_store::get_clip(conn, &id)?)
    })
    .await?;
    Ok(web::Json(clip.into()))
}
