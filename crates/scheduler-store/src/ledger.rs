//! Reading the ledger, the append-only audit trail ([`crate::events`] writes it).

use diesel::prelude::*;

use crate::conn::Conn;
use crate::error::Result;
use crate::models::LedgerEvent;
use crate::schema::ledger_events;

/// The most events one [`list_events`] call returns.
pub const MAX_LIST_LIMIT: u32 = 1_000;

/// The events [`list_events`] returns when no limit is given.
pub const DEFAULT_LIST_LIMIT: u32 = 100;

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
    /// Every event, at most [`DEFAULT_LIST_LIMIT`].
    fn default() -> Self {
        Self {
            entity_id: None,
            event_type: None,
            limit: DEFAULT_LIST_LIMIT,
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
        .select(LedgerEvent::as_select())
        .load(conn)?)
}
