//! `POST /accounts`, `GET /accounts`, `GET /accounts/{id}`, `POST /accounts/{id}/calendar-key`,
//! `POST /clips`, `GET /clips/{id}`.

use actix_web::{get, post, web, HttpResponse};
use scheduler_core::rfc3339;
use scheduler_store::{Account, Clip, NewAccount, NewClip};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiResult, ErrorBody};
use crate::idempotency::{created, Idempotency, Idempotent};
use crate::input::{
    check_id, check_text, filter_text, from_value, limit, no_body, path_id, Body, Query,
    MAX_NAME_LEN, MAX_TEXT_LEN,
};
use crate::openapi::Platform;
use crate::state::AppState;

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_account)
        .service(list_accounts)
        .service(get_account)
        .service(rotate_calendar_key)
        .service(create_clip)
        .service(get_clip);
}

/// A social account to create.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"id": "acc_demo", "platform": "instagram", "handle": "@demo", "timezone": "America/New_York"}))]
pub struct AccountIn {
    /// The id to use (1 to 128 characters, no whitespace, comma or control characters, not
    /// `.` or `..`); omitted: a new `acc_…` id.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^(?!\.\.?$)[^\s,\x00-\x1f\x7f-\x9f]+$"
    )]
    pub id: Option<String>,
    /// The platform, one of the server's rules (read case-insensitively).
    #[schema(value_type = Platform)]
    pub platform: String,
    /// The account's handle.
    #[schema(
        max_length = 2048,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub handle: Option<String>,
    /// An IANA time zone name (read case-insensitively); the account's posting windows are in
    /// it. Omitted: `UTC`.
    #[schema(
        max_length = 128,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$",
        example = "America/New_York"
    )]
    pub timezone: Option<String>,
}

/// A social account.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "acc_demo", "platform": "instagram", "handle": "@demo", "timezone": "America/New_York", "created_at": "2026-11-28T21:55:15Z"}))]
pub struct AccountOut {
    /// Its id.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub id: String,
    /// Its platform.
    #[schema(value_type = Platform)]
    pub platform: String,
    /// Its handle.
    pub handle: Option<String>,
    /// The IANA zone of its posting windows, as the time zone database spells it.
    #[schema(example = "America/New_York")]
    pub timezone: String,
    /// When it was created (RFC 3339, UTC, whole seconds).
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
    /// The read-only key of its iCalendar feed, `GET /accounts/{id}/calendar.ics?key=…`:
    /// whoever has it can read the account's posts there, and nothing else.
    #[schema(
        example = "cal_3f2a9c0d1e2b4a5f8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b",
        max_length = 128
    )]
    pub calendar_key: Option<String>,
}

impl From<Account> for AccountOut {
    fn from(a: Account) -> Self {
        Self {
            id: a.id,
            platform: a.platform.to_string(),
            handle: a.handle,
            timezone: a.timezone.name().to_owned(),
            created_at: rfc3339(a.created_at),
            calendar_key: a.calendar_key,
        }
    }
}

/// A clip to create.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"id": "clip_demo", "title": "Launch teaser", "media_url": "https://cdn.example.com/teaser.mp4"}))]
pub struct ClipIn {
    /// The id to use (1 to 128 characters, no whitespace or control characters, not `.` or
    /// `..`); omitted: a new `clip_…` id.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub id: Option<String>,
    /// Its title.
    #[schema(
        max_length = 2048,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub title: Option<String>,
    /// Where the media is.
    #[schema(
        max_length = 2048,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub media_url: Option<String>,
}

/// A clip.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "clip_demo", "title": "Launch teaser", "media_url": "https://cdn.example.com/teaser.mp4", "created_at": "2026-11-28T21:55:15Z"}))]
pub struct ClipOut {
    /// Its id.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub id: String,
    /// Its title.
    pub title: Option<String>,
    /// Where the media is.
    pub media_url: Option<String>,
    /// When it was created (RFC 3339, UTC, whole seconds).
    #[schema(value_type = String, format = DateTime)]
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
///
/// The account's posting windows are read in its time zone; its platform's rules decide them.
#[utoipa::path(
    tag = "accounts", request_body = AccountIn, params(Idempotency),
    responses(
        (status = 201, description = "Created", body = AccountOut, headers(("Location" = String, description = "Where the account is read: `/accounts/{id}`"))),
        (status = 400, description = "Malformed JSON (`malformed_json`), a wrong type (`invalid_field`) or an unknown field (`unknown_field`)", body = ErrorBody),
        (status = 409, description = "The id is taken (`already_exists`)", body = ErrorBody),
        (status = 422, description = "An unknown platform (`unknown_platform`), time zone or a bad id (`invalid_field`)", body = ErrorBody),
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
        .map(|written| written.response)
}

/// `GET /accounts`'s query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountsQuery {
    /// At most this many, 1 to 500; default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// The `next_cursor` of the page before; omitted: the first page.
    #[param(max_length = 128, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub cursor: Option<String>,
}

/// A page of accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountList {
    /// By id.
    pub items: Vec<AccountOut>,
    /// Where the next page starts (`cursor`), or null after the last.
    pub next_cursor: Option<String>,
}

/// The social accounts.
///
/// By id, a page at a time: follow `next_cursor` until it is null. The calendar page offers
/// them as its account filter.
#[utoipa::path(
    tag = "accounts",
    params(AccountsQuery),
    responses(
        (status = 200, description = "A page of accounts", body = AccountList),
        (status = 400, description = "A bad limit or cursor (`invalid_field`), or an unknown parameter (`unknown_field`)", body = ErrorBody),
    )
)]
#[get("/accounts")]
pub async fn list_accounts(
    state: web::Data<AppState>,
    Query(query): Query<AccountsQuery>,
) -> ApiResult<web::Json<AccountList>> {
    let limit = limit(query.limit, 100, scheduler_store::MAX_ACCOUNTS_PAGE)?;
    let after = filter_text("cursor", query.cursor)?;
    let (accounts, next) = state
        .read(move |conn, _| {
            Ok(scheduler_store::list_accounts(
                conn,
                after.as_deref(),
                limit,
            )?)
        })
        .await?;
    Ok(web::Json(AccountList {
        items: accounts.into_iter().map(Into::into).collect(),
        next_cursor: next,
    }))
}

/// One social account.
///
/// The account as it was created.
#[utoipa::path(
    tag = "accounts",
    params(("id" = String, Path, description = "The account's id", min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$")),
    responses(
        (status = 200, description = "The account", body = AccountOut),
        (status = 404, description = "No account has that id (`not_found`)", body = ErrorBody),
    )
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

/// Give an account a new calendar key.
///
/// For a key that leaked: the old key's feed answers 404 from now on, and calendars subscribed
/// with it stop updating; subscribe again with the new one. Answers the account with its new
/// `calendar_key`. Takes no body (or `{}`).
#[utoipa::path(
    tag = "accounts",
    params(("id" = String, Path, description = "The account's id", min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$")),
    responses(
        (status = 200, description = "The account with its new key", body = AccountOut),
        (status = 400, description = "A body other than `{}` (`unknown_field`, `malformed_json`)", body = ErrorBody),
        (status = 404, description = "No account has that id (`not_found`)", body = ErrorBody),
    )
)]
#[post("/accounts/{id}/calendar-key")]
pub async fn rotate_calendar_key(
    state: web::Data<AppState>,
    id: web::Path<String>,
    Body(body): Body,
) -> ApiResult<web::Json<AccountOut>> {
    no_body(&body)?;
    let id = path_id("account", id)?;
    let account = state
        .write(move |conn, _| Ok(scheduler_store::rotate_calendar_key(conn, &id)?))
        .await?;
    Ok(web::Json(account.into()))
}

/// Create a clip.
///
/// A clip is the video that posts publish; any number of posts may publish one clip.
#[utoipa::path(
    tag = "clips", request_body = ClipIn, params(Idempotency),
    responses(
        (status = 201, description = "Created", body = ClipOut, headers(("Location" = String, description = "Where the clip is read: `/clips/{id}`"))),
        (status = 400, description = "Malformed JSON (`malformed_json`), a wrong type (`invalid_field`) or an unknown field (`unknown_field`)", body = ErrorBody),
        (status = 409, description = "The id is taken (`already_exists`)", body = ErrorBody),
        (status = 422, description = "A bad id or an overlong field (`invalid_field`)", body = ErrorBody),
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
        .map(|written| written.response)
}

/// One clip.
///
/// The clip as it was created.
#[utoipa::path(
    tag = "clips",
    params(("id" = String, Path, description = "The clip's id", min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$")),
    responses(
        (status = 200, description = "The clip", body = ClipOut),
        (status = 404, description = "No clip has that id (`not_found`)", body = ErrorBody),
    )
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
