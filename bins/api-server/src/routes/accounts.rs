//! `POST /accounts`, `GET /accounts/{id}`, `POST /clips`, `GET /clips/{id}`.

use actix_web::{get, post, web, HttpResponse};
use scheduler_core::rfc3339;
use scheduler_store::{Account, Clip, NewAccount, NewClip};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiResult, ErrorBody};
use crate::idempotency::{created, Idempotency, Idempotent};
use crate::input::{check_id, check_text, from_value, path_id, MAX_NAME_LEN, MAX_TEXT_LEN};
use crate::state::AppState;

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_account)
        .service(get_account)
        .service(create_clip)
        .service(get_clip);
}

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
    tag = "accounts", request_body = AccountIn, params(Idempotency),
    responses(
        (status = 201, description = "Created", body = AccountOut, headers(("Location" = String, description = "Where the account is read: `/accounts/{id}`"))),
        (status = 400, description = "Malformed JSON or a wrong type", body = ErrorBody),
        (status = 409, description = "The id is taken", body = ErrorBody),
        (status = 422, description = "Unknown platform or time zone, bad id", body = ErrorBody),
    )
)]
#[post("/accounts")]
pub async fn create_account(
    state: web::Data<AppState>,
    request: Idempotent,
) -> ApiResult<HttpResponse> {
    let input: AccountIn = from_value(request.body)?;
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
    state
        .write_idempotent(request.key, move |conn, rules, now| {
            let account = scheduler_store::create_account(conn, rules, &new, now)?;
            let out = AccountOut::from(account);
            created("/accounts", &out.id, &out)
        })
        .await
}

/// One social account.
#[utoipa::path(
    tag = "accounts",
    params(("id" = String, Path, description = "The account's id")),
    responses((status = 200, body = AccountOut), (status = 404, body = ErrorBody))
)]
#[get("/accounts/{id}")]
pub async fn get_account(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<web::Json<AccountOut>> {
    let id = path_id("account", id)?;
    let account = state
        .read(move |conn, _| Ok(scheduler_store::get_account(conn, &id)?))
        .await?;
    Ok(web::Json(account.into()))
}

/// Create a clip.
#[utoipa::path(
    tag = "clips", request_body = ClipIn, params(Idempotency),
    responses(
        (status = 201, description = "Created", body = ClipOut, headers(("Location" = String, description = "Where the clip is read: `/clips/{id}`"))),
        (status = 400, description = "Malformed JSON or a wrong type", body = ErrorBody),
        (status = 409, description = "The id is taken", body = ErrorBody),
        (status = 422, description = "A bad id or an overlong field", body = ErrorBody),
    )
)]
#[post("/clips")]
pub async fn create_clip(
    state: web::Data<AppState>,
    request: Idempotent,
) -> ApiResult<HttpResponse> {
    let input: ClipIn = from_value(request.body)?;
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
    state
        .write_idempotent(request.key, move |conn, _, now| {
            let clip = scheduler_store::create_clip(conn, &new, now)?;
            let out = ClipOut::from(clip);
            created("/clips", &out.id, &out)
        })
        .await
}

/// One clip.
#[utoipa::path(
    tag = "clips",
    params(("id" = String, Path, description = "The clip's id")),
    responses((status = 200, body = ClipOut), (status = 404, body = ErrorBody))
)]
#[get("/clips/{id}")]
pub async fn get_clip(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<web::Json<ClipOut>> {
    let id = path_id("clip", id)?;
    let clip = state
        .read(move |conn, _| Ok(scheduler_store::get_clip(conn, &id)?))
        .await?;
    Ok(web::Json(clip.into()))
}
