//! The tick: moves every due publish log to `pending` for the publishing worker, with one
//! `publish_scheduled_enqueued` event per log in the same transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use scheduler_core::rfc3339;
use serde::Serialize;

use crate::backend::{self, write_transaction, MovedBatch};
use crate::db::{Conn, Db};
use crate::error::Result;
use crate::ledger::{self, event_type, NewEventRow};
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

/// The ids of the logs due at `now` (a `NaiveDateTime`), oldest first: the dry run's list, and
/// the subquery that claims a batch on SQLite ([`backend::move_due`], whose PostgreSQL claim
/// is the same condition in SQL). It reads `publish_logs` under the
/// alias `due_log`, because diesel lets a query name a table once and the claiming `UPDATE`
/// names it already.
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
            .select(due_log.field(p::id))
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
        due_logs!(now.naive_utc()).load(conn)?
    } else {
        let batch_size = batch_size.max(1);
        let mut moved = Vec::new();
        loop {
            let ids = write_transaction(conn, |conn| {
                move_batch(conn, i64::from(batch_size), host_now)
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

/// Claims and moves one batch, with its events; returns the ids moved, oldest due first.
fn move_batch(conn: &mut Conn, batch_size: i64, host_now: DateTime<Utc>) -> Result<Vec<String>> {
    let Some(MovedBatch {
        at: now,
        logs: mut moved,
    }) = backend::move_due(conn, host_now, batch_size)?
    else {
        return Ok(Vec::new());
    };
    moved.sort_by(|a, b| (a.4, &a.0).cmp(&(b.4, &b.0)));
    let enqueued_at = rfc3339(now);
    let events: Vec<NewEventRow> = moved
        .iter()
        .map(|(id, clip_id, platform, account_id, scheduled_for)| {
            let metadata = EnqueuedMetadata {
                clip_id,
                platform,
                social_account_id: account_id,
                scheduled_for: scheduled_for.map(|t| rfc3339(t.and_utc())),
                enqueued_at: &enqueued_at,
            };
            NewEventRow::publish_log(event_type::ENQUEUED, id, &metadata, now)
        })
        .collect();
    ledger::append(conn, &events)?;
    Ok(moved.into_iter().map(|row| row.0).collect())
}

/// The metadata of a `publish_scheduled_enqueued` event (keys in the order
/// `serde_json::Value` writes them: alphabetical).
#[derive(Serialize)]
struct EnqueuedMetadata<'a> {
    clip_id: &'a str,
    enqueued_at: &'a str,
    platform: &'a str,
    scheduled_for: Option<String>,
    social_account_id: &'a str,
}
