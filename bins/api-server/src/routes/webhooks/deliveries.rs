//! A subscription's deliveries: listing them (the `failed` list among them) and delivering one
//! again by hand.

use actix_web::{get, post, web, HttpResponse};
use chrono::Utc;
use scheduler_core::rfc3339;
use scheduler_store::webhooks::{Delivery, DeliveryFilter, DeliveryStatus, DEFAULT_PAGE, MAX_PAGE};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::WEBHOOK_ID;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::input::{filter_text, limit, path_id, Query};
use crate::state::AppState;

/// One event's delivery to a subscription.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"event_id": "evt_0193a1b2c3d4e5f6a7b8c9d0e1f2a3b4", "event_type": "publish_published", "status": "pending", "attempts": 2, "last_status": 503, "last_error": "HTTP 503 Service Unavailable", "last_response": "busy", "next_attempt_at": "2026-12-06T10:05:05Z", "delivered_at": null, "created_at": "2026-12-06T10:00:00Z", "updated_at": "2026-12-06T10:00:05Z"}))]
pub struct DeliveryOut {
    /// The ledger event (`evt_…`): the `webhook-id` of every attempt.
    #[schema(min_length = 1, max_length = 128)]
    pub event_id: String,
    /// Its type.
    #[schema(value_type = scheduler_store::EventType)]
    pub event_type: String,
    /// `pending` (waiting for an attempt, or in one), `delivered` or `failed`.
    #[schema(value_type = DeliveryStatus)]
    pub status: String,
    /// Attempts begun since the delivery was made or retried by hand.
    pub attempts: i32,
    /// The receiver's last HTTP status; null when it never answered.
    pub last_status: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The start of the receiver's last answer, at most 1 KiB.
    pub last_response: Option<String>,
    /// Pending: when it is tried next (while an attempt runs, when that attempt is given up
    /// for lost). Null once delivered or failed.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<String>,
    /// When the receiver took it.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<String>,
    /// When the delivery was made.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
    /// When it last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: String,
}

impl From<Delivery> for DeliveryOut {
    fn from(d: Delivery) -> Self {
        Self {
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            last_response: d.last_response,
            next_attempt_at: d.next_attempt_at.map(rfc3339),
            delivered_at: d.delivered_at.map(rfc3339),
            created_at: rfc3339(d.created_at),
            updated_at: rfc3339(d.updated_at),
        }
    }
}

/// The filter and the page of a subscription's deliveries. An empty value is no filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Only deliveries in this status (`failed`: the ones to look at).
    #[param(value_type = Option<DeliveryStatus>)]
    pub status: Option<String>,
    /// At most this many, 1 to 500; default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// The `next_cursor` of the page before; omitted: the first page.
    #[param(pattern = r"^(0|[1-9][0-9]{0,17})$")]
    pub cursor: Option<String>,
}

/// A page of deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    /// Newest event first.
    pub items: Vec<DeliveryOut>,
    /// Pass it as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A subscription's deliveries.
///
/// Newest event first, a page at a time: follow `next_cursor` until it is null.
/// `status=failed` lists the deliveries every attempt of the retry schedule failed, each with
/// its last answer; retry them by hand once the receiver is fixed.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = String, Path, description = WEBHOOK_ID, min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"), DeliveriesQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = DeliveryList),
        (status = 400, description = "A bad status, limit or cursor (`invalid_field`), or an unknown parameter (`unknown_field`)", body = ErrorBody),
        (status = 404, description = "No subscription has that id (`not_found`)", body = ErrorBody),
    )
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    id: web::Path<String>,
    Query(query): Query<DeliveriesQuery>,
) -> ApiResult<web::Json<DeliveryList>> {
    let id = path_id("webhook", id)?;
    let status = filter_text("status", query.status)?
        .map(|name| {
            name.parse::<DeliveryStatus>()
                .map_err(|e| ApiError::bad_field(e.to_string()))
        })
        .transpose()?;
    let before = filter_text("cursor", query.cursor)?
        .map(|text| {
            text.parse::<u64>()
                .ok()
                .and_then(|n| i64::try_from(n).ok())
                .filter(|_| !text.starts_with('0') || text == "0")
                .ok_or_else(|| {
                    ApiError::bad_field(
                        "cursor: not a cursor of this list: pass the one an earlier answer gave",
                    )
                })
        })
        .transpose()?;
    let filter = DeliveryFilter {
        status,
        before,
        limit: limit(query.limit, DEFAULT_PAGE, MAX_PAGE)?,
    };
    let page = state
        .read(move |conn, _| {
            Ok(scheduler_store::webhooks::list_deliveries(
                conn, &id, &filter,
            )?)
        })
        .await?;
    Ok(web::Json(DeliveryList {
        items: page.deliveries.into_iter().map(Into::into).collect(),
        next_cursor: page.next.map(|n| n.to_string()),
    }))
}

/// Deliver an event again now.
///
/// The delivery becomes `pending`, due now, its attempts started over: a `failed` one is
/// tried again, a `delivered` one is sent again (receivers drop the duplicate by its
/// `webhook-id`), and an event of a type the subscription takes that it never had (written
/// before it) is sent. The deliverers make the attempt; the answer is the delivery as queued.
#[utoipa::path(
    tag = "webhooks",
    params(
        ("id" = String, Path, description = WEBHOOK_ID, min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"),
        ("event_id" = String, Path, description = "The ledger event's id", min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"),
    ),
    responses(
        (status = 202, description = "Queued", body = DeliveryOut),
        (status = 404, description = "No such subscription, or no such event of a type it takes (`not_found`)", body = ErrorBody),
    )
)]
#[post("/webhooks/{id}/deliveries/{event_id}/retry")]
pub async fn retry_delivery(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, event_id) = path.into_inner();
    let id = path_id("webhook", web::Path::from(id))?;
    let event_id = path_id("event", web::Path::from(event_id))?;
    let delivery = state
        .write(move |conn, _| {
            Ok(scheduler_store::webhooks::retry_delivery(
                conn,
                &id,
                &event_id,
                Utc::now(),
            )?)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(DeliveryOut::from(delivery)))
}
