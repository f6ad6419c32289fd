//! `GET /ledger/events`.

use actix_web::{get, web};
use scheduler_core::rfc3339;
use scheduler_store::cursor::{BadCursor, FeedCursor};
use scheduler_store::ledger::{DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT};
use scheduler_store::{EventFilter, EventType, LedgerEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::input::{filter_text, limit, Query};
use crate::openapi::EventEntity;
use crate::state::AppState;

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_events).service(ledger_feed);
}

/// The filters. An empty value (`?entity_id=`) is no filter, as an HTML form sends it.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events about this entity (a publish log's or a series' id).
    #[param(max_length = 128, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub entity_id: Option<String>,
    /// Only events of this type.
    #[param(value_type = Option<EventType>)]
    pub event_type: Option<String>,
    /// At most this many, 1 to 1000; default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// A ledger event.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "evt_5f0c7a1d2b3e4f5a6b7c8d9e0f1a2b3c", "event_type": "publish_scheduled_created",
    "entity_type": "publish_log", "entity_id": "log_e7da95c30ad54bfbb1e3a7f33ecfddf2",
    "metadata": {"clip_id": "clip_demo", "platform": "instagram", "requested_for": "2030-06-15T23:00:00Z",
                 "scheduled_by": "manual", "scheduled_for": "2030-06-15T23:00:00Z",
                 "scheduled_window_end": "2030-06-16T03:00:00Z", "social_account_id": "acc_demo",
                 "status": "scheduled"},
    "created_at": "2026-11-28T21:55:15Z"
}))]
pub struct EventOut {
    /// `evt_…`.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub id: String,
    /// What happened.
    #[schema(value_type = EventType)]
    pub event_type: String,
    /// `publish_log`, or `publish_series` for a series' own events.
    #[schema(value_type = EventEntity)]
    pub entity_type: String,
    /// The log's id, or the series'.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub entity_id: String,
    /// The event's details: for each event type, the fields the contract lists.
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// When it was written (RFC 3339, UTC, whole seconds).
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
}

impl From<LedgerEvent> for EventOut {
    fn from(e: LedgerEvent) -> Self {
        Self {
            id: e.id,
            event_type: e.event_type,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            metadata: e.metadata,
            created_at: rfc3339(e.created_at),
        }
    }
}

/// Ledger events, newest first.
///
/// Ties (events written in the same second) come last written first. At most `limit`; for
/// every event in order, follow `GET /ledger/feed`.
#[utoipa::path(
    tag = "ledger",
    params(EventsQuery),
    responses(
        (status = 200, description = "The events", body = Vec<EventOut>),
        (status = 400, description = "A bad filter or limit (`invalid_field`), or an unknown parameter (`unknown_field`)", body = ErrorBody),
    )
)]
#[get("/ledger/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    Query(query): Query<EventsQuery>,
) -> ApiResult<web::Json<Vec<EventOut>>> {
    let limit = limit(query.limit, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT)?;
    let event_type = filter_text("event_type", query.event_type)?
        .map(|name| {
            name.parse::<EventType>()
                .map(|t| t.as_str().to_owned())
                .map_err(|e| ApiError::bad_field(e.to_string()))
        })
        .transpose()?;
    let filter = EventFilter {
        entity_id: filter_text("entity_id", query.entity_id)?,
        event_type,
        limit,
    };
    let events = state
        .read(move |conn, _| Ok(scheduler_store::list_events(conn, &filter)?))
        .await?;
    Ok(web::Json(events.into_iter().map(EventOut::from).collect()))
}

/// Where to read the feed from.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The `next` of the page before; omitted: from the first event.
    #[param(
        pattern = r"^(0|[1-9][0-9]{0,17})\.(0|[1-9][0-9]{0,17})$",
        example = "0.0"
    )]
    pub after: Option<String>,
    /// At most this many, 1 to 1000; default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Feed {
    /// Oldest first.
    pub events: Vec<EventOut>,
    /// Where the next page starts: pass it as `after`. When `events` is empty it is the
    /// `after` given: ask again later.
    #[schema(example = "0.0")]
    pub next: String,
}

/// Every ledger event once, in order.
///
/// Oldest first, after the cursor `after`. A reader that asks again with each page's `next`
/// reads every event exactly once, in the order their transactions wrote them, also while many
/// writers commit at once: an event whose transaction commits late is delivered late, never
/// skipped. On PostgreSQL the newest events appear once every transaction of the server that
/// began before theirs has ended.
#[utoipa::path(
    tag = "ledger",
    params(FeedQuery),
    responses(
        (status = 200, description = "The events after `after`, and the cursor to follow", body = Feed),
        (status = 400, description = "A bad cursor or limit (`invalid_field`), or an unknown parameter (`unknown_field`)", body = ErrorBody),
    )
)]
#[get("/ledger/feed")]
pub async fn ledger_feed(
    state: web::Data<AppState>,
    Query(query): Query<FeedQuery>,
) -> ApiResult<web::Json<Feed>> {
    let limit = limit(query.limit, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT)?;
    let after = match query.after.as_deref().filter(|a| !a.is_empty()) {
        None => FeedCursor::START,
        Some(text) => text
            .parse()
            .map_err(|e: BadCursor| ApiError::bad_field(format!("after: {e}")))?,
    };
    let page = state
        .read(move |conn, _| Ok(scheduler_store::feed(conn, after, limit)?))
        .await?;
    Ok(web::Json(Feed {
        events: page.events.into_iter().map(EventOut::from).collect(),
        next: page.next.to_string(),
    }))
}
