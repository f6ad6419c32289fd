//! `GET /healthz` and `GET /openapi.json`: open to anyone, token or not.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::openapi::OpenApi;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ErrorBody, ErrorCode};
use crate::state::AppState;

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(healthz).service(openapi);
}

/// The health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(value_type = crate::openapi::HealthOk)]
    pub status: String,
}

/// Whether the database answers.
///
/// For load balancers: 200 while the database answers, 503 when it does not. No token needed.
#[utoipa::path(
    tag = "health", security(()),
    responses(
        (status = 200, description = "The database answers", body = Health),
        (status = 503, description = "The database does not answer", body = ErrorBody),
    )
)]
#[get("/healthz")]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match state.read(|conn, _| Ok(scheduler_store::ping(conn)?)).await {
        Ok(()) => HttpResponse::Ok().json(Health {
            status: "ok".to_owned(),
        }),
        Err(e) => {
            log::warn!("health check failed: {e}");
            HttpResponse::ServiceUnavailable().json(ErrorBody {
                error: "database unavailable".to_owned(),
                code: ErrorCode::Unavailable,
            })
        }
    }
}

/// This API's OpenAPI 3 document.
///
/// This document: every route the server answers, and nothing else. No token needed.
#[utoipa::path(
    tag = "health", security(()),
    responses((status = 200, description = "The OpenAPI 3 document", content_type = "application/json"))
)]
#[get("/openapi.json")]
pub async fn openapi(doc: web::Data<OpenApi>) -> HttpResponse {
    HttpResponse::Ok().json(doc.as_ref())
}
