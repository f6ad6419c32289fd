//! The tick: moves every due publish log to `pending` for the publishing worker, with one
//! `publish_scheduled_enqueued` event per log in the same transaction.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use scheduler_core::rfc3339;
use serde::Serialize;

use crate::backend::{self, write_transaction};
use crate::db::{Conn, Db};
use crate::error::Result;
use crate::ledger;
use crate::schema::publish_logs;

/// What a tick did (or, on a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickOutcome {
    /// How many logs moved (or are due, on a dry run).
    pub moved: usize,
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// The logs, oldest due first.
    pub log_ids: Vec<String>,
}

diesel::alias!(publish_logs as due_log: DueLog);

/// The logs due at `now` (a `NaiveDateTime`), oldest first, ties by id, without a select
/// clause: the dry run's list of ids, and on SQLite the claim of a tick batch
/// ([`backend::enqueue_due`], whose PostgreSQL claim is the same condition in SQL). It reads
/// `publish_logs` under the alias `due_log`, because diesel lets a query name a table once and
/// the claiming `UPDATE` names it already. The index on `(status, scheduled_for, id)` gives
/// its rows in order.
macro_rules! due_logs {
    ($now:expr) => {{
        use $crate::schema::publish_logs::dsl as p;
        use $crate::tick::due_log;
        let scheduled: &'static str = $crate::models::status::SCHEDULED;
        due_log
            .filter(due_log.field(p::status).eq(scheduled))
            .filter(due_log.field(p::scheduled_for).le($now))
            .order((
                due_log.field(p::scheduled_for).asc(),
                due_log.field(p::id).asc(),
            ))
    }};
}
pub(crate) use due_logs;

/// Moves every log with `status = 'scheduled' AND scheduled_for <= now` to `pending`, oldest
/// first, `batch_size` (at least 1) per write transaction, until a batch comes back short.
///
/// `now` is the database clock on PostgreSQL, where `host_now` is ignored, and `host_now` on
/// SQLite. Any number of ticks may run at once: each log moves once, with one event. A dry run
/// lists the due logs and changes nothing. Programs holding a [`Db`] call [`Db::tick`].
pub fn tick(
    conn: &mut Conn,
    batch_size: u32,
    dry_run: bool,
    host_now: DateTime<Utc>,
) -> Result<TickOutcome> {
    tick_with(conn, batch_size, dry_run, host_now, |_| {})
}

impl Db {
    /// [`tick`] on `conn` (one of this database's writers), letting SQLite's WAL start over
    /// between batches ([`Db::finish_checkpoint`]) instead of growing by every batch until a
    /// long tick ends. What api-server and tick-runner call.
    pub fn tick(
        &self,
        conn: &mut Conn,
        batch_size: u32,
        dry_run: bool,
        host_now: DateTime<Utc>,
    ) -> Result<TickOutcome> {
        tick_with(conn, batch_size, dry_run, host_now, |conn| {
            self.finish_checkpoint(conn)
        })
    }
}

/// [`tick`], calling `between_batches` on the connection after each committed batch, outside
/// any transaction.
fn tick_with(
    conn: &mut Conn,
    batch_size: u32,
    dry_run: bool,
    host_now: DateTime<Utc>,
    mut between_batches: impl FnMut(&mut Conn),
) -> Result<TickOutcome> {
    let log_ids = if dry_run {
        let now = backend::database_now(conn, host_now)?;
        due_logs!(now.naive_utc())
            .select(due_log.field(publish_logs::id))
            .load(conn)?
    } else {
        let batch_size = batch_size.max(1);
        let mut moved = Vec::new();
        loop {
            // One batch, with its events; the ids moved, oldest due first.
            let ids = write_transaction(conn, |conn| {
                backend::enqueue_due(conn, host_now, i64::from(batch_size))
            })?;
            log::debug!("tick batch: moved {}", ids.len());
            let short = ids.len() < batch_size as usize;
            moved.extend(ids);
            between_batches(conn);
            if short {
                break moved;
            }
        }
    };
    Ok(TickOutcome {
        moved: log_ids.len(),
        dry_run,
        log_ids,
    })
}

/// The metadata of a `publish_scheduled_enqueued` event, as the ledger stores it, for the
/// SQLite tick, which builds its events in one statement and calls this through a SQL function;
/// the PostgreSQL tick writes the same struct through [`ledger::NewEventRow::publish_log`] (see
/// [`backend::enqueue_due`]).
pub(crate) fn enqueued_metadata(metadata: EnqueuedMetadata<'_>) -> String {
    ledger::metadata_json(&metadata)
}

/// The metadata of a `publish_scheduled_enqueued` event (keys in the order
/// `serde_json::Value` writes them: alphabetical).
#[derive(Serialize)]
pub(crate) struct EnqueuedMetadata<'a> {
    pub clip_id: &'a str,
    pub enqueued_at: &'a str,
    pub platform: &'a str,
    #[serde(serialize_with = "rfc3339_or_null")]
    pub scheduled_for: Option<NaiveDateTime>,
    pub social_account_id: &'a str,
}

/// A stored UTC time as RFC 3339 (`null` for none).
fn rfc3339_or_null<S: serde::Serializer>(
    at: &Option<NaiveDateTime>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    match at {
        Some(at) => serializer.serialize_str(&rfc3339(at.and_utc())),
        None => serializer.serialize_none(),
    }
}
