//! The tick: moves every due publish log to `pending` for the publishing worker, with one
//! `publish_scheduled_enqueued` event per log in the same transaction, every `processing`
//! log whose worker's lease ran out to `unconfirmed` (`publish_lease_expired`), and makes the
//! occurrences of recurring series that came within the horizon ([`crate::series`]).

mod batch;
pub(crate) mod due;
mod leases;
mod sqlite_functions;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use scheduler_core::RuleSet;
use serde::Serialize;

use crate::conn::{write_transaction, Conn};
use crate::error::Result;
use crate::series::extend_due;
use due::due_log;

pub(crate) use sqlite_functions::register as register_sqlite_functions;

/// How many logs one tick transaction moves, unless told otherwise.
pub const DEFAULT_BATCH_SIZE: u32 = 500;

/// What a tick did (or, on a dry run, would do): the tick endpoint's and tick-runner's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TickOutcome {
    /// How many logs moved to `pending` (or are due, on a dry run).
    pub moved: usize,
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// The logs, oldest due first.
    pub log_ids: Vec<String>,
    /// How many `processing` logs whose lease ran out became `unconfirmed` (or would, on a
    /// dry run).
    pub leases_expired: usize,
    /// Those logs, the lease that ended first first.
    pub expired_log_ids: Vec<String>,
    /// How many logs were made for series occurrences that came within the horizon (on a dry
    /// run: how many occurrences there are to make).
    pub occurrences_made: usize,
    /// How long after its time the oldest log moved was moved, by the clock the tick reads
    /// (the database's on PostgreSQL); none when nothing moved, and on a dry run. Not part of
    /// the answer.
    #[serde(skip)]
    pub late_by: Option<TimeDelta>,
}

/// Moves every log with `status = 'scheduled' AND scheduled_for <= now` to `pending`, oldest
/// first, `batch_size` (at least 1) per write transaction, until a batch comes back short.
///
/// `now` is the database clock on PostgreSQL, where `host_now` is ignored, and `host_now` on
/// SQLite. Any number of ticks may run at once: each log moves once, with one event. A dry run
/// lists the due logs and changes nothing. Programs holding a [`crate::Db`] call its `tick`,
/// which also lets SQLite's WAL start over between batches.
///
/// Then makes the occurrences of active series (`batch_size` series per transaction) that came
/// within `rules`' series horizon; ticks at once make each occurrence once.
pub fn tick(
    conn: &mut Conn,
    rules: &RuleSet,
    batch_size: u32,
    dry_run: bool,
    host_now: DateTime<Utc>,
) -> Result<TickOutcome> {
    tick_with(conn, rules, batch_size, dry_run, host_now, |_| {})
}

/// [`tick`], calling `between_batches` on the connection after each committed batch, outside
/// any transaction.
pub(crate) fn tick_with(
    conn: &mut Conn,
    rules: &RuleSet,
    batch_size: u32,
    dry_run: bool,
    host_now: DateTime<Utc>,
    mut between_batches: impl FnMut(&mut Conn),
) -> Result<TickOutcome> {
    let mut late_by = None;
    let (log_ids, expired_log_ids) = if dry_run {
        let now = due::now(conn, host_now)?;
        let due = dry_run_ids(conn, now, batch_size)?;
        (due, leases::expired_ids(conn, now)?)
    } else {
        let batch_size = batch_size.max(1);
        let mut moved = Vec::new();
        loop {
            // One batch, with its events; the ids moved, oldest due first.
            let (ids, oldest) = write_transaction(conn, |conn| {
                batch::enqueue_due(conn, host_now, i64::from(batch_size))
            })?;
            // The first batch holds the oldest log of the highest priority due.
            late_by = late_by.or(oldest.map(|(due, moved)| (moved - due).max(TimeDelta::zero())));
            log::debug!("tick batch: moved {}", ids.len());
            let short = ids.len() < batch_size as usize;
            moved.extend(ids);
            between_batches(conn);
            if short {
                break;
            }
        }
        let mut expired = Vec::new();
        loop {
            let ids = write_transaction(conn, |conn| {
                leases::expire(conn, host_now, i64::from(batch_size))
            })?;
            let short = ids.len() < batch_size as usize;
            expired.extend(ids);
            if short {
                break;
            }
            between_batches(conn);
        }
        (moved, expired)
    };
    let occurrences_made = if dry_run {
        extend_due(conn, rules, host_now, i64::MAX, true)?.logs
    } else {
        let batch_size = batch_size.max(1);
        let mut made = 0;
        loop {
            let batch = write_transaction(conn, |conn| {
                extend_due(conn, rules, host_now, i64::from(batch_size), false)
            })?;
            made += batch.logs;
            if batch.series < batch_size as usize {
                break;
            }
            between_batches(conn);
        }
        made
    };
    Ok(TickOutcome {
        moved: log_ids.len(),
        dry_run,
        log_ids,
        leases_expired: expired_log_ids.len(),
        expired_log_ids,
        occurrences_made,
        late_by,
    })
}

/// The logs a tick at `now` would move, in the order it takes them: the highest priority first,
/// each by time. Read as the tick reads them, a tier at a time in pages of `batch_size` after
/// the last `(scheduled_for, id)`, each page an index range: one read of every due log ordered
/// by priority would let the planner, which takes "scheduled" and "due" as independent (they
/// are not: scheduled posts lie ahead), read the whole table instead (`docs/scaling.md`).
fn dry_run_ids(conn: &mut Conn, now: DateTime<Utc>, batch_size: u32) -> Result<Vec<String>> {
    use crate::schema::publish_logs::dsl as p;
    let page = i64::from(batch_size.max(1));
    let mut ids = Vec::new();
    for priority in scheduler_core::Priority::ALL.iter().rev() {
        // Every due log is after this: due times start at `earliest`, and no id is empty.
        let (mut time, mut id) = (due::earliest(), String::new());
        loop {
            let after = due_log.field(p::scheduled_for).gt(time).or(due_log
                .field(p::scheduled_for)
                .eq(time)
                .and(due_log.field(p::id).gt(&id)));
            let rows: Vec<(String, Option<chrono::NaiveDateTime>)> =
                due::due_logs!(now.naive_utc())
                    .filter(due_log.field(p::priority).eq(priority.rank()))
                    .filter(after)
                    .limit(page)
                    .select((due_log.field(p::id), due_log.field(p::scheduled_for)))
                    .load(conn)?;
            let full = rows.len() as i64 == page;
            for (row_id, at) in rows {
                if let Some(at) = at {
                    time = at;
                }
                id.clone_from(&row_id);
                ids.push(row_id);
            }
            if !full {
                break;
            }
        }
    }
    Ok(ids)
}
