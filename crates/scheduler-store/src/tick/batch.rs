//! One tick batch, on each backend: claim the due logs, move them to `pending`, write their
//! events.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};
use scheduler_core::Priority;

use super::due::{due_log, due_logs};
use super::sqlite_functions::{scheduler_enqueued_metadata, scheduler_new_event_id};
use crate::conn::Conn;
use crate::error::{Result, StoreError};
use crate::events::{
    event_columns, insert_events, Enqueued, EventType, NewEvent, ENTITY_PUBLISH_LOG,
};
use crate::models::Status;
use crate::schema::ledger_events;

/// The time of the oldest log a batch moved, and when it moved it.
type Oldest = Option<(NaiveDateTime, NaiveDateTime)>;

/// One tick batch: claims up to `limit` due logs, the highest priority first and each
/// priority's oldest first, sets them `pending`, and
/// writes one `publish_scheduled_enqueued` event for each, in that order; returns the moved ids
/// in that order (none when none is due). Due means `status = 'scheduled' AND scheduled_for <=
/// now`, as in [`due_logs!`], where `now` is the database clock on PostgreSQL (the
/// transaction's start) and `host_now` on SQLite (see [`super::due::now`]). The caller holds
/// the write transaction.
///
/// PostgreSQL: one statement claims and moves the batch. The claim, in a materialized CTE,
/// locks its rows and skips rows another transaction holds; the `UPDATE` joins it by primary
/// key and returns the moved rows with the time it set: one round trip. The claim as an `IN` subquery of the `UPDATE` would plan as a hash join against
/// a sequential scan of the whole table for every batch; the CTE's `LIMIT` gives the planner its
/// size, and it joins by index. Its condition is [`due_logs!`]'s, in SQL: the two change
/// together. The events are built here and go in by one `INSERT … SELECT unnest(…)`
/// ([`insert_events`]).
///
/// SQLite, whose write lock already excludes others: two statements over the same claim, the
/// due logs `ORDER BY scheduled_for, id LIMIT n`, read in that order from the index on
/// `(status, scheduled_for, id)`. First `INSERT INTO ledger_events … SELECT …` the claimed logs,
/// whose event ids and metadata come from the store's own Rust code, called by SQLite for each
/// row ([`super::sqlite_functions`]); then `UPDATE … WHERE rowid IN (SELECT rowid …` the
/// claim `)`, which finds the same logs (nothing changed them in between, under the write lock,
/// and the order is total; the batch fails if the counts differ). The moved ids are read back
/// from the ledger, after the last event before the batch. The events never leave the
/// database, which costs the fewest instructions of the ways measured (`docs/benchmarks.md`).
pub(super) fn enqueue_due(
    conn: &mut Conn,
    host_now: DateTime<Utc>,
    limit: i64,
) -> Result<(Vec<String>, Oldest)> {
    // Higher priority first (contract section 12): the due high posts, then normal, then low,
    // each tier by time, until the batch is full.
    let mut moved = Vec::new();
    let mut oldest: Oldest = None;
    for tier in [Priority::High, Priority::Normal, Priority::Low] {
        let room = limit - moved.len() as i64;
        if room <= 0 {
            break;
        }
        let (ids, first) = enqueue_tier(conn, host_now, room, tier)?;
        moved.extend(ids);
        oldest = match (oldest, first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok((moved, oldest))
}

/// [`enqueue_due`] for the due logs of one priority. The condition names `status` and
/// `priority` as literals, so that the high and low tiers read their partial indexes
/// (`publish_logs_due_high`, `publish_logs_due_low`: a bound value cannot prove a partial
/// index's condition); the normal tier reads the index on `(status, scheduled_for, id)`.
fn enqueue_tier(
    conn: &mut Conn,
    host_now: DateTime<Utc>,
    limit: i64,
    tier: Priority,
) -> Result<(Vec<String>, Oldest)> {
    use crate::schema::publish_logs::dsl as p;
    let rank = tier.rank();
    match conn {
        Conn::Pg(c) => {
            #[derive(QueryableByName)]
            struct Moved {
                #[diesel(sql_type = Text)]
                id: String,
                #[diesel(sql_type = Text)]
                clip_id: String,
                #[diesel(sql_type = Text)]
                platform: String,
                #[diesel(sql_type = Text)]
                social_account_id: String,
                #[diesel(sql_type = Nullable<Timestamp>)]
                scheduled_for: Option<NaiveDateTime>,
                #[diesel(sql_type = Timestamp)]
                updated_at: NaiveDateTime,
            }
            let mut moved: Vec<Moved> = diesel::sql_query(format!(
                "WITH claimed AS MATERIALIZED ( \
                   SELECT id FROM publish_logs \
                   WHERE status = 'scheduled' AND priority = {rank} \
                     AND scheduled_for <= date_trunc('second', now()) \
                     AND scheduled_for >= $3 \
                   ORDER BY scheduled_for, id \
                   LIMIT $1 \
                   FOR UPDATE SKIP LOCKED) \
                 UPDATE publish_logs AS p \
                 SET status = $2, updated_at = date_trunc('second', now()) \
                 FROM claimed WHERE p.id = claimed.id \
                 RETURNING p.id, p.clip_id, p.platform, p.social_account_id, p.scheduled_for, \
                   p.updated_at"
            ))
            .bind::<BigInt, _>(limit)
            .bind::<Text, _>(Status::Pending.as_str())
            .bind::<Timestamp, _>(super::due::earliest())
            .load(c)?;
            let Some(first) = moved.first() else {
                return Ok((Vec::new(), None));
            };
            let at = first.updated_at.and_utc();
            let enqueued_at = scheduler_core::rfc3339(at);
            moved.sort_by(|a, b| (a.scheduled_for, &a.id).cmp(&(b.scheduled_for, &b.id)));
            let events: Vec<NewEvent> = moved
                .iter()
                .map(|m| {
                    let metadata = Enqueued {
                        clip_id: &m.clip_id,
                        enqueued_at: &enqueued_at,
                        platform: &m.platform,
                        scheduled_for: m.scheduled_for.map(|t| t.and_utc()),
                        social_account_id: &m.social_account_id,
                    };
                    NewEvent::about_log(&m.id, &metadata, at)
                })
                .collect();
            insert_events(conn, &events)?;
            let oldest = moved
                .first()
                .and_then(|m| Some((m.scheduled_for?, m.updated_at)));
            Ok((moved.into_iter().map(|m| m.id).collect(), oldest))
        }
        Conn::Sqlite(c) => {
            use crate::schema::ledger_events::dsl as e;
            let now = host_now.trunc_subsecs(0);
            // SQLite reads the high and low tiers from the index on (status, scheduled_for, id),
            // every due log, rather than from their partial index; so first ask that index,
            // which it uses when named, whether the tier has a due log at all: the rare tiers
            // then cost one index probe a batch.
            if tier != Priority::Normal && !tier_has_due(c, tier, now.naive_utc())? {
                return Ok((Vec::new(), None));
            }
            // The claim, run by both statements: the same logs, under the write lock.
            let tier_condition =
                format!("\"due_log\".status = 'scheduled' AND \"due_log\".priority = {rank}");
            let claim = || {
                due_logs!(now.naive_utc())
                    .filter(sql::<Bool>(&tier_condition))
                    .limit(limit)
            };
            let events = claim().select((
                scheduler_new_event_id(),
                EventType::Enqueued.as_str().into_sql::<Text>(),
                ENTITY_PUBLISH_LOG.into_sql::<Text>(),
                due_log.field(p::id),
                scheduler_enqueued_metadata(
                    due_log.field(p::clip_id),
                    due_log.field(p::platform),
                    due_log.field(p::social_account_id),
                    due_log.field(p::scheduled_for),
                    scheduler_core::rfc3339(now),
                ),
                now.naive_utc().into_sql::<Timestamp>(),
            ));
            // Under the write lock, the events after the last one now are this batch's.
            let before: i64 = ledger_events::table
                .select(diesel::dsl::max(e::seq))
                .get_result::<Option<i64>>(c)?
                .unwrap_or(0);
            let written = diesel::insert_into(ledger_events::table)
                .values(events)
                .into_columns(event_columns!())
                .execute(c)?;
            let claimed = claim().select(sql::<BigInt>("\"due_log\".rowid"));
            let moved = diesel::update(
                p::publish_logs.filter(sql::<BigInt>("\"publish_logs\".rowid").eq_any(claimed)),
            )
            .set((
                p::status.eq(Status::Pending.as_str()),
                p::updated_at.eq(now.naive_utc()),
            ))
            .execute(c)?;
            if moved != written {
                // Cannot happen under the write lock; never commit events without their move.
                return Err(StoreError::Corrupt(format!(
                    "a tick batch wrote {written} events but moved {moved} logs"
                )));
            }
            let ids: Vec<String> = ledger_events::table
                .filter(e::seq.gt(before))
                .order(e::seq)
                .select(e::entity_id)
                .load(c)?;
            // The claim's order is the logs' time: the first is the oldest.
            let oldest = match ids.first() {
                Some(first) => p::publish_logs
                    .find(first)
                    .select(p::scheduled_for)
                    .get_result::<Option<NaiveDateTime>>(c)?
                    .map(|due| (due, now.naive_utc())),
                None => None,
            };
            Ok((ids, oldest))
        }
    }
}

/// Whether a due log of `tier` (high or low) waits, read from the tier's partial index.
fn tier_has_due(
    c: &mut diesel::SqliteConnection,
    tier: Priority,
    now: NaiveDateTime,
) -> Result<bool> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = Bool)]
        found: bool,
    }
    let index = match tier {
        Priority::High => "publish_logs_due_high",
        _ => "publish_logs_due_low",
    };
    let found: Found = diesel::sql_query(format!(
        "SELECT EXISTS (SELECT 1 FROM publish_logs INDEXED BY {index} \
         WHERE status = 'scheduled' AND priority = {} \
           AND scheduled_for <= ? AND scheduled_for >= ?) AS found",
        tier.rank()
    ))
    .bind::<Timestamp, _>(now)
    .bind::<Timestamp, _>(super::due::earliest())
    .get_result(c)?;
    Ok(found.found)
}
