//! The tick: moves every due publish log to `pending` for the publishing worker, with one
//! `publish_scheduled_enqueued` event per log in the same transaction.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use scheduler_core::rfc3339;
use serde_json::json;

use crate::backend::{self, write_transaction};
use crate::db::Conn;
use crate::error::Result;
use crate::ledger::{self, event_type, NewEventRow};
use crate::models::status;
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

/// The ids of the logs due at `now`, oldest first.
#[diesel::dsl::auto_type]
pub(crate) fn due_logs(now: NaiveDateTime) -> _ {
    let scheduled: &'static str = status::SCHEDULED;
    publish_logs::table
        .filter(publish_logs::status.eq(scheduled))
        .filter(publish_logs::scheduled_for.le(now))
        .order((publish_logs::scheduled_for.asc(), publish_logs::id.asc()))
        .select(publish_logs::id)
}

/// Moves every log with `status = 'scheduled' AND scheduled_for <= now` to `pending`, oldest
/// first, `batch_size` (at least 1) per write transaction, until a batch comes back short.
///
/// `now` is the database clock on PostgreSQL, where `host_now` is ignored, and `host_now` on
/// SQLite. Any number of ticks may run at once: each log moves once, with one event. A dry run
/// lists the due logs and changes nothing.
pub fn tick(
    conn: &mut Conn,
    batch_size: u32,
    dry_run: bool,
    host_now: DateTime<Utc>,
) -> Result<TickOutcome> {
    let log_ids = if dry_run {
        let now = backend::database_now(conn, host_now)?;
        due_logs(now.naive_utc()).load(conn)?
    } else {
        let batch_size = batch_size.max(1);
        let mut moved = Vec::new();
        loop {
            let (claimed, ids) = write_transaction(conn, |conn| {
                move_batch(conn, i64::from(batch_size), host_now)
            })?;
            log::debug!("tick batch: claimed {claimed}, moved {}", ids.len());
            moved.extend(ids);
            if claimed < batch_size as usize {
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

/// Claims and moves one batch; returns how many logs were claimed and the ids moved.
fn move_batch(
    conn: &mut Conn,
    batch_size: i64,
    host_now: DateTime<Utc>,
) -> Result<(usize, Vec<String>)> {
    let now = backend::database_now(conn, host_now)?;
    let claimed = backend::claim_due(conn, now.naive_utc(), batch_size)?;
    if claimed.is_empty() {
        return Ok((0, Vec::new()));
    }
    use crate::schema::publish_logs::dsl as p;
    // By primary key only. The claimed logs are `scheduled` and stay so until this transaction
    // ends (PostgreSQL: row locks; SQLite: the write lock), so a status condition here guards
    // nothing, and SQLite's planner took it to scan the `(status, scheduled_for)` index over
    // every scheduled log for each batch: quadratic, 13 s for 100,000 due logs.
    let mut rows: Vec<(String, String, String, String, Option<NaiveDateTime>)> =
        diesel::update(p::publish_logs.filter(p::id.eq_any(&claimed)))
            .set((
                p::status.eq(status::PENDING),
                p::updated_at.eq(now.naive_utc()),
            ))
            .returning((
                p::id,
                p::clip_id,
                p::platform,
                p::social_account_id,
                p::scheduled_for,
            ))
            .load(conn)?;
    rows.sort_by(|a, b| (a.4, &a.0).cmp(&(b.4, &b.0)));
    let events: Vec<NewEventRow> = rows
        .iter()
        .map(|(id, clip_id, platform, account_id, scheduled_for)| {
            NewEventRow::publish_log(
                event_type::ENQUEUED,
                id,
                &json!({
                    "clip_id": clip_id,
                    "platform": platform,
                    "social_account_id": account_id,
                    "scheduled_for": scheduled_for.map(|t| rfc3339(t.and_utc())),
                    "enqueued_at": rfc3339(now),
                }),
                now,
            )
        })
        .collect();
    ledger::append(conn, &events)?;
    Ok((claimed.len(), rows.into_iter().map(|row| row.0).collect()))
}
