//! Webhooks (contract section 9): subscribing, reading and ending subscriptions here; their
//! deliveries in `deliveries`.

mod deliveries;

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpResponse};
use scheduler_core::rfc3339;
use scheduler_store::webhooks::{NewSubscription, Subscription};
use scheduler_store::EventType;
use scheduler_webhooks::{check_resolved, parse_url, Secret, UrlError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::input::{check_text, from_value, path_id, JsonBody, MAX_TEXT_LEN};
use crate::state::AppState;

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_webhook)
        .service(list_webhooks)
        .service(get_webhook)
        .service(delete_webhook)
        .service(deliveries::list_deliveries)
        .service(deliveries::retry_delivery);
}

pub(super) const WEBHOOK_ID: &str = "The subscription's id";

/// A subscription to make.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"url": "https://hooks.example.com/scheduler", "event_types": ["publish_published", "publish_failed"], "description": "Tell the team channel"}))]
pub struct WebhookIn {
    /// Where to post events: `http` or `https`, no credentials, at most 2048 characters. A
    /// host that is or resolves to a loopback, private, link-local or unspecified address is
    /// refused unless the server runs with `--allow-private-webhooks`.
    #[schema(
        format = "uri",
        min_length = 1,
        max_length = 2048,
        pattern = r"^[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub url: String,
    /// The event types to deliver, at least one; omitted: every type.
    #[schema(value_type = Option<Vec<EventType>>, min_items = 1)]
    pub event_types: Option<Vec<String>>,
    /// The subscriber's words.
    #[schema(
        max_length = 2048,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub description: Option<String>,
}

/// A subscription.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "wh_0193a1b2c3d4e5f6a7b8c9d0e1f2a3b4", "url": "https://hooks.example.com/scheduler", "event_types": ["publish_published"], "description": null, "created_at": "2026-12-06T10:00:00Z"}))]
pub struct WebhookOut {
    /// `wh_…`.
    #[schema(min_length = 1, max_length = 128)]
    pub id: String,
    /// Where events are posted.
    pub url: String,
    /// The event types delivered; null: every type.
    #[schema(value_type = Option<Vec<EventType>>)]
    pub event_types: Option<Vec<String>>,
    /// The subscriber's words.
    pub description: Option<String>,
    /// When it was made: the events written after it are delivered (RFC 3339, UTC).
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
}

impl From<Subscription> for WebhookOut {
    fn from(s: Subscription) -> Self {
        Self {
            id: s.id,
            url: s.url,
            event_types: s
                .event_types
                .map(|types| types.iter().map(|t| t.as_str().to_owned()).collect()),
            description: s.description,
            created_at: rfc3339(s.created_at),
        }
    }
}

/// A subscription just made, with its secret: shown here only.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookOut {
    /// The subscription.
    #[serde(flatten)]
    pub webhook: WebhookOut,
    /// `whsec_` and the base64 of 32 random bytes: verify each delivery's
    /// `webhook-signature` with it (any Standard Webhooks library does).
    #[schema(pattern = "^whsec_[A-Za-z0-9+/]+={0,2}$")]
    pub secret: String,
}

/// Subscriptions.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    /// Oldest first.
    pub items: Vec<WebhookOut>,
}

/// Subscribe to the ledger's events.
///
/// Every event written after the subscription, of the types it names, is posted to its URL
/// at least once, signed the Standard Webhooks way (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature`). The answer carries the signing secret; no other answer does.
#[utoipa::path(
    tag = "webhooks",
    request_body = WebhookIn,
    responses(
        (status = 201, description = "Subscribed", body = CreatedWebhookOut, headers(("Location" = String, description = "Where the subscription is read: `/webhooks/{id}`"))),
        (status = 400, description = "Malformed JSON (`malformed_json`), a wrong type (`invalid_field`) or an unknown field (`unknown_field`)", body = ErrorBody),
        (status = 422, description = "A URL that is not http(s), resolves nowhere or reaches a private address, an unknown event type, or a bad description (`invalid_field`)", body = ErrorBody),
    )
)]
#[post("/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    JsonBody(body): JsonBody,
) -> ApiResult<HttpResponse> {
    let input: WebhookIn = from_value(body)?;
    let allow_private = state.allow_private_webhooks;
    let url = parse_url(&input.url, allow_private).map_err(refused)?;
    check_resolved(&url, allow_private).await.map_err(refused)?;
    let event_types = input
        .event_types
        .map(|names| {
            if names.is_empty() {
                return Err(ApiError::unacceptable(
                    "event_types must name at least one type; omit it for every type",
                ));
            }
            names
                .iter()
                .map(|name| {
                    name.parse::<EventType>()
                        .map_err(|e| ApiError::unacceptable(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    if let Some(description) = &input.description {
        check_text("description", description, MAX_TEXT_LEN)?;
    }
    let secret = Secret::generate()
        .map_err(|e| ApiError::internal(format!("no random bytes for a secret: {e}")))?
        .expose();
    let new = NewSubscription {
        url: url.to_string(),
        event_types,
        description: input.description,
        secret: secret.clone(),
    };
    let subscription = state
        .write(move |conn, _| {
            Ok(scheduler_store::webhooks::create_subscription(
                conn,
                &new,
                chrono::Utc::now(),
            )?)
        })
        .await?;
    let location = format!("/webhooks/{}", subscription.id);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(CreatedWebhookOut {
            webhook: subscription.into(),
            secret,
        }))
}

/// A refused URL: 422 with the reason.
fn refused(e: UrlError) -> ApiError {
    ApiError::unacceptable(e.to_string())
}

/// Every subscription.
///
/// Without their secrets, oldest first.
#[utoipa::path(
    tag = "webhooks",
    responses((status = 200, description = "The subscriptions", body = WebhookList))
)]
#[get("/webhooks")]
pub async fn list_webhooks(state: web::Data<AppState>) -> ApiResult<web::Json<WebhookList>> {
    let subscriptions = state
        .read(|conn, _| Ok(scheduler_store::webhooks::list_subscriptions(conn)?))
        .await?;
    Ok(web::Json(WebhookList {
        items: subscriptions.into_iter().map(Into::into).collect(),
    }))
}

/// One subscription.
///
/// Without its secret.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = String, Path, description = WEBHOOK_ID, min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$")),
    responses(
        (status = 200, description = "The subscription", body = WebhookOut),
        (status = 404, description = "No subscription has that id (`not_found`)", body = ErrorBody),
    )
)]
#[get("/webhooks/{id}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<web::Json<WebhookOut>> {
    let id = path_id("webhook", id)?;
    let subscription = state
        .read(move |conn, _| Ok(scheduler_store::webhooks::get_subscription(conn, &id)?))
        .await?;
    Ok(web::Json(subscription.into()))
}

/// End a subscription.
///
/// Nothing more is delivered to it, and its deliveries are forgotten.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = String, Path, description = WEBHOOK_ID, min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$")),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, description = "No subscription has that id (`not_found`)", body = ErrorBody),
    )
)]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id("webhook", id)?;
    state
        .write(move |conn, _| Ok(scheduler_store::webhooks::delete_subscription(conn, &id)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
