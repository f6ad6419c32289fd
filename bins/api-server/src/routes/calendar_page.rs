//! `GET /calendar`: the calendar page (contract section 11) and its two assets, compiled into
//! the binary so that the page works wherever the server runs, with no CDN and no build step.
//! The page holds no data: it reads `GET /calendar/events`, `GET /accounts` and the ledger with
//! the bearer token it asks for, so it is open like `/healthz`.

use actix_web::http::header;
use actix_web::{get, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ErrorBody;
use crate::input::Query;

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(page).service(script).service(style);
}

const PAGE: &str = include_str!("../../assets/calendar/index.html");
const SCRIPT: &str = include_str!("../../assets/calendar/calendar.js");
const STYLE: &str = include_str!("../../assets/calendar/calendar.css");

/// Only this server's own script, style and API: no inline code, no other origin, no frames.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// What the page opens on; the page reads these itself and keeps them in step as it changes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Declared for the OpenAPI document and the unknown-parameter check.
pub struct PageQuery {
    /// The day to open (`YYYY-MM-DD`, the viewer's calendar); otherwise today.
    pub date: Option<String>,
    /// `month`, `week` or `day`; otherwise `month`.
    pub view: Option<String>,
    /// The accounts to show, separated by commas; otherwise all.
    pub social_account_id: Option<String>,
    /// The platform to show; otherwise all.
    pub platform: Option<String>,
    /// The status to show; otherwise all.
    pub status: Option<String>,
}

/// The calendar page.
///
/// Month, week and day views of the posts; drag a scheduled post to reschedule it, click one
/// for its history. No token needed for the page itself: it asks for the token the API needs.
/// Values it cannot read are ignored, as a bookmark's would be.
#[utoipa::path(
    tag = "calendar", security(()),
    params(PageQuery),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 400, description = "An unknown query parameter (`unknown_field`)", body = ErrorBody),
    )
)]
#[get("/calendar")]
pub async fn page(Query(_query): Query<PageQuery>) -> HttpResponse {
    asset("text/html; charset=utf-8", PAGE)
}

/// The calendar page's script.
///
/// Plain JavaScript, compiled into the server with the page; no token needed.
#[utoipa::path(
    tag = "calendar", security(()),
    responses((status = 200, description = "The script", content_type = "text/javascript", body = String))
)]
#[get("/calendar/calendar.js")]
pub async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// The calendar page's style sheet.
///
/// Compiled into the server with the page; no token needed.
#[utoipa::path(
    tag = "calendar", security(()),
    responses((status = 200, description = "The style sheet", content_type = "text/css", body = String))
)]
#[get("/calendar/calendar.css")]
pub async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        // Small, and they change with the binary: checked on each load, never stale.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(body)
}
