//! The ledger: an append-only audit trail. Every state change of a publish log writes its
//! event in the same transaction.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::backend;
use crate::db::Conn;
use crate::error::Result;
use crate::models::LedgerEvent;
use crate::new_ordered_id;
use crate::schema::ledger_events;

/// The event types.
pub mod event_type {
    /// A log was scheduled.
    pub const CREATED: &str = "publish_scheduled_created";
    /// The scheduled time differs from the requested one.
    pub const ADJUSTED: &str = "publish_scheduled_adjusted";
    /// The tick moved a due log to `pending`.
    pub const ENQUEUED: &str = "publish_scheduled_enqueued";
    /// A scheduled log was cancelled.
    pub const CANCELLED: &str = "publish_scheduled_cancelled";
    /// A scheduled log was planned again.
    pub const RESCHEDULED: &str = "publish_scheduled_rescheduled";
}

/// The `entity_type` of events about publish logs.
pub const ENTITY_PUBLISH_LOG: &str = "publish_log";

/// The most events one [`list_events`] call returns.
pub const MAX_LIST_LIMIT: u32 = 1_000;

/// An event to write.
#[derive(Debug, Insertable)]
#[diesel(table_name = ledger_events)]
pub(crate) struct NewEventRow {
    pub(crate) id: String,
    pub(crate) event_type: &'static str,
    pub(crate) entity_type: &'static str,
    pub(crate) entity_id: String,
    pub(crate) metadata: String,
    pub(crate) created_at: NaiveDateTime,
}

impl NewEventRow {
    /// An event about the publish log `log_id`, with a fresh `evt_…` id.
    pub(crate) fn publish_log(
        event_type: &'static str,
        log_id: &str,
        metadata: &impl Serialize,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: new_ordered_id("evt"),
            event_type,
            entity_type: ENTITY_PUBLISH_LOG,
            entity_id: log_id.to_owned(),
            metadata: metadata_json(metadata),
            created_at: at.naive_utc(),
        }
    }
}

/// Event metadata as the ledger stores it: serde's compact JSON.
pub(crate) fn metadata_json(metadata: &impl Serialize) -> String {
    // Maps with string keys and plain values: serializing cannot fail.
    serde_json::to_string(metadata).expect("event metadata serializes")
}

/// Writes events (see [`backend::insert_events`]).
pub(crate) fn append(conn: &mut Conn, events: &[NewEventRow]) -> Result<()> {
    Ok(backend::insert_events(conn, events)?)
}

/// Which events [`list_events`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events about this entity.
    pub entity_id: Option<String>,
    /// Only events of this type.
    pub event_type: Option<String>,
    /// At most this many (clamped to `1..=`[`MAX_LIST_LIMIT`]).
    pub limit: u32,
}

impl Default for EventFilter {
    /// Every event, at most 100.
    fn default() -> Self {
        Self {
            entity_id: None,
            event_type: None,
            limit: 100,
        }
    }
}

/// Events, newest first (ties in time: last written first).
pub fn list_events(conn: &mut Conn, filter: &EventFilter) -> Result<Vec<LedgerEvent>> {
    let mut query = ledger_events::table.into_boxed();
    if let Some(entity_id) = &filter.entity_id {
        query = query.filter(ledger_events::entity_id.eq(entity_id));
    }
    if let Some(event_type) = &filter.event_type {
        query = query.filter(ledger_events::event_type.eq(event_type));
    }
    Ok(query
        .order(ledger_events::seq.desc())
        .limit(i64::from(filter.limit.clamp(1, MAX_LIST_LIMIT)))
        .load(conn)?)
}
