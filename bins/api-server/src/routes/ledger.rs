//! `GET /ledger/events`.

use actix_web::{get, web};
use scheduler_core::rfc3339;
use scheduler_store::ledger::{DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT};
use scheduler_store::{EventFilter, LedgerEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::input::{Query, MAX_NAME_LEN};
use crate::state::AppState;

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_events);
}

/// The filters.
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    /// Only events about this entity.
    pub entity_id: Option<String>,
    /// Only events of this type.
    pub event_type: Option<String>,
    /// At most this many (1 to 1000, default 100).
    pub limit: Option<String>,
}

/// A ledger event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    /// `evt_…`.
    pub id: String,
    /// `publish_scheduled_created`, `publish_scheduled_adjusted`, …
    pub event_type: String,
    /// `publish_log`.
    pub entity_type: String,
    /// The log's id.
    pub entity_id: String,
    /// The event's details.
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// When it was written (RFC 3339, UTC).
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

/// A filter's value; an empty one (`?entity_id=`) is no filter, as a form would send it.
fn filter_value(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value.filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > MAX_NAME_LEN || v.chars().any(char::is_control) => {
            Err(ApiError::bad_field(format!(
                "{name} must be at most {MAX_NAME_LEN} characters without control characters"
            )))
        }
        other => Ok(other),
    }
}

/// Ledger events, newest first (ties: last written first).
#[utoipa::path(
    tag = "ledger",
    params(
        ("entity_id" = Option<String>, Query, description = "Only events about this entity"),
        ("event_type" = Option<String>, Query, description = "Only events of this type"),
        ("limit" = Option<u32>, Query, description = "1 to 1000, default 100"),
    ),
    responses((status = 200, body = Vec<EventOut>), (status = 400, body = ErrorBody))
)]
#[get("/ledger/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    Query(query): Query<EventsQuery>,
) -> ApiResult<web::Json<Vec<EventOut>>> {
    let limit = match query.limit.as_deref().filter(|l| !l.is_empty()) {
        None => DEFAULT_LIST_LIMIT,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIST_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_field(format!(
                    "limit must be an integer from 1 to {MAX_LIST_LIMIT}"
                ))
            })?,
    };
    let filter = EventFilter {
        entity_id: filter_value("entity_id", query.entity_id)?,
        event_type: filter_value("event_type", query.event_type)?,
        limit,
    };
    let events = state
        .read(move |conn, _| Ok(scheduler_store::list_events(conn, &filter)?))
        .await?;
    Ok(web::Json(events.into_iter().map(EventOut::from).collect()))
}
