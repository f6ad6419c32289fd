//! Reading the ledger, the append-only audit trail ([`crate::events`] writes it): its newest
//! events, and the feed that gives every event once, in order, to a reader that follows it.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};

use crate::conn::Conn;
pub use crate::cursor::FeedCursor;
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

/// A page of the feed: the events after a cursor, and where to read next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedPage {
    /// Oldest first.
    pub events: Vec<LedgerEvent>,
    /// After the last of `events`; the cursor given when there are none yet.
    pub next: FeedCursor,
}

/// Up to `limit` (clamped to `1..=`[`MAX_LIST_LIMIT`]) events after `after`, oldest first.
///
/// A reader that calls this again with each page's `next` reads every event once, in the order
/// their transactions wrote them, however many writers commit at once. On PostgreSQL a
/// transaction may take its `seq` before another and commit after it; the feed orders events
/// by the writing transaction's id and returns only events of transactions older than every
/// transaction still running, so a late commit is read late, never skipped (and any
/// transaction that starts later has a larger id). A long transaction holds the feed back
/// until it ends. On SQLite one transaction writes at a time, so `seq` is commit order.
pub fn feed(conn: &mut Conn, after: FeedCursor, limit: u32) -> Result<FeedPage> {
    use crate::schema::ledger_events::dsl as l;
    // A macro, not a closure: the selection's type differs per backend.
    macro_rules! query {
        () => {
            l::ledger_events
                // A row comparison, which both backends read as a range of the index on
                // (txid, seq); `txid > a OR (txid = a AND seq > b)` would scan it from the
                // start on every page.
                .filter(
                    sql::<Bool>("(txid, seq) > (")
                        .bind::<BigInt, _>(after.txid)
                        .sql(", ")
                        .bind::<BigInt, _>(after.seq)
                        .sql(")"),
                )
                .order((l::txid.asc(), l::seq.asc()))
                .limit(i64::from(limit.clamp(1, MAX_LIST_LIMIT)))
                .select(LedgerEvent::as_select())
        };
    }
    let events: Vec<LedgerEvent> = match conn {
        Conn::Pg(c) => query!()
            .filter(l::txid.lt(sql::<BigInt>("txid_snapshot_xmin(txid_current_snapshot())")))
            .load(c)?,
        Conn::Sqlite(c) => query!().load(c)?,
    };
    let next = events.last().map_or(after, FeedCursor::after);
    Ok(FeedPage { events, next })
}
