//! **Backend-specific SQL, all of it.** Everything else in the crate is one code path for both
//! backends; each function here matches on the [`Conn`] variant.
//!
//! | concern | PostgreSQL | SQLite |
//! |---|---|---|
//! | session | `SET TIME ZONE 'UTC'` | `busy_timeout`, `foreign_keys`, `synchronous`, `temp_store`; the store's SQL functions |
//! | database, once | — | `journal_mode = WAL` |
//! | checkpoints | — | `wal_autocheckpoint`, a thread running `wal_checkpoint(PASSIVE)` |
//! | write transaction | `BEGIN` (read committed) | `BEGIN IMMEDIATE` |
//! | per-account serialization | `pg_advisory_xact_lock` (one account: within the account query) | the database write lock |
//! | migrations | session `pg_advisory_lock` | `BEGIN IMMEDIATE` |
//! | clock | the database's `now()` | the host clock passed in |
//! | a tick batch | one `WITH claimed AS (SELECT … FOR UPDATE SKIP LOCKED) UPDATE … RETURNING`, then its events as below | under the write lock, the events by one `INSERT … SELECT` of the due logs calling the store's Rust through SQL functions, then one `UPDATE … WHERE rowid IN (SELECT …)` |
//! | inserting events (scheduling; the PostgreSQL tick) | one or two rows: one prepared `INSERT`; more: one prepared `INSERT … SELECT unnest(…)` | one prepared `INSERT` per row |

use std::convert::identity;

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::connection::{
    AnsiTransactionManager, Connection, SimpleConnection, TransactionManager,
};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp};

use crate::db::{on_backend, Conn};
use crate::error::{Result, StoreError};
use crate::ledger::{event_type, NewEventRow, ENTITY_PUBLISH_LOG};
use crate::models::{status, Account};
use crate::schema::ledger_events;
use crate::tick::{due_logs, EnqueuedMetadata};

/// How long a SQLite connection waits for the write lock before failing.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

/// The session-level advisory lock key held while migrating PostgreSQL (`"sched-mg"`).
const MIGRATION_LOCK_KEY: i64 = 0x7363_6865_642d_6d67;

/// The first key of the two-key advisory locks that serialize scheduling per account.
const ACCOUNT_LOCK_CLASS: i32 = 1;

/// Settings every connection needs, applied when it is opened.
///
/// SQLite's `temp_store = MEMORY` keeps the savepoint journal in memory: every page a
/// savepoint changes is copied there first, and a group commit (see [`crate::group`]) holds one
/// savepoint per request, whose copies spilled to a temporary file past 64 KiB. SQLite
/// connections also get the store's SQL functions ([`sqlite::register_functions`]).
///
/// A read-only session refuses every write: `default_transaction_read_only` on PostgreSQL,
/// `query_only` on SQLite.
pub(crate) fn prepare_session(conn: &mut Conn, read_only: bool) -> QueryResult<()> {
    match conn {
        // `timestamptz` columns are declared `Timestamp`: they are read and written as UTC
        // only when the session time zone is UTC.
        Conn::Pg(c) => {
            c.batch_execute("SET TIME ZONE 'UTC'")?;
            if read_only {
                c.batch_execute("SET default_transaction_read_only = on")?;
            }
            Ok(())
        }
        Conn::Sqlite(c) => {
            c.batch_execute(&format!(
                "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; \
                 PRAGMA foreign_keys = ON; \
                 PRAGMA synchronous = NORMAL; \
                 PRAGMA temp_store = MEMORY;"
            ))?;
            if read_only {
                c.batch_execute("PRAGMA query_only = ON")?;
            }
            sqlite::register_functions(c)
        }
    }
}

/// An error unless the database takes writes: a SQLite file this process may only read (SQLite
/// then opens it read-only without a word, and every write fails), or a PostgreSQL server in
/// read-only mode (a standby). SQLite: rewrites the header's `user_version` with its own value
/// in a transaction rolled back, the smallest write there is.
pub(crate) fn check_writable(conn: &mut Conn) -> Result<()> {
    #[derive(QueryableByName)]
    struct Value {
        #[diesel(sql_type = Text)]
        value: String,
    }
    let refused = |cause: String| StoreError::ReadOnly(cause);
    match conn {
        Conn::Pg(c) => {
            let read_only =
                diesel::sql_query("SELECT current_setting('transaction_read_only') AS value")
                    .get_result::<Value>(c)?;
            if read_only.value == "on" {
                return Err(refused("the server accepts only reads".to_owned()));
            }
            Ok(())
        }
        Conn::Sqlite(_) => {
            let probe = write_transaction(conn, |conn| -> QueryResult<()> {
                let version = diesel::sql_query(
                    "SELECT CAST(user_version AS TEXT) AS value FROM pragma_user_version",
                )
                .get_result::<Value>(conn)?;
                let version: i64 = version.value.parse().unwrap_or_default();
                conn.batch_execute(&format!("PRAGMA user_version = {version}"))?;
                // Roll back: the probe leaves nothing behind.
                Err(DieselError::RollbackTransaction)
            });
            match probe {
                Ok(()) | Err(DieselError::RollbackTransaction) => Ok(()),
                Err(DieselError::DatabaseError(_, info)) if is_read_only(info.message()) => {
                    Err(refused(info.message().to_owned()))
                }
                Err(other) => Err(other.into()),
            }
        }
    }
}

/// Whether SQLite's message says the database may not be written.
fn is_read_only(message: &str) -> bool {
    message.contains("readonly database") || message.contains("read-only")
}

/// Whether diesel's table of applied migrations exists, found without creating it (diesel's
/// own harness creates it before it reads it).
pub(crate) fn migrations_table_exists(conn: &mut Conn) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let query = match conn {
        Conn::Pg(_) => "SELECT to_regclass('__diesel_schema_migrations') IS NOT NULL AS exists",
        Conn::Sqlite(_) => {
            "SELECT EXISTS (SELECT 1 FROM sqlite_master \
             WHERE type = 'table' AND name = '__diesel_schema_migrations') AS \"exists\""
        }
    };
    Ok(diesel::sql_query(query).get_result::<Exists>(conn)?.exists)
}

/// Settings of the database itself, applied once before the pool opens its connections.
///
/// SQLite: switching a file to WAL needs it to itself, and SQLite answers "database is locked"
/// at once, without its busy handler, when another process holds it (several servers starting
/// together on a new file). So a file already in WAL is left alone, and the switch is retried
/// until the busy timeout has passed.
pub(crate) fn prepare_database(conn: &mut Conn) -> QueryResult<()> {
    #[derive(QueryableByName)]
    struct JournalMode {
        #[diesel(sql_type = Text)]
        journal_mode: String,
    }
    let Conn::Sqlite(c) = conn else {
        return Ok(());
    };
    let deadline =
        std::time::Instant::now() + std::time::Duration::from_millis(SQLITE_BUSY_TIMEOUT_MS.into());
    loop {
        let attempt = diesel::sql_query("PRAGMA journal_mode")
            .get_result::<JournalMode>(c)
            .and_then(|mode| match mode.journal_mode.eq_ignore_ascii_case("wal") {
                true => Ok(()),
                false => c.batch_execute("PRAGMA journal_mode = WAL"),
            });
        match attempt {
            Err(DieselError::DatabaseError(_, ref info))
                if info.message().contains("database is locked")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

/// SQLite: how many WAL pages a pool connection's commit lets accumulate before it
/// checkpoints by itself (about 160 MiB; SQLite's default is 1,000). [`crate::db::Db`]'s
/// background thread normally checkpoints long before, and the writer starts the WAL over at
/// [`crate::OpenOptions::wal_restart_pages`].
pub const SQLITE_AUTOCHECKPOINT_PAGES: u32 = 40_000;

/// SQLite: leaves checkpoints to the background thread (see [`SQLITE_AUTOCHECKPOINT_PAGES`]).
pub(crate) fn leave_checkpoints_to_checkpointer(conn: &mut Conn) -> QueryResult<()> {
    match conn {
        Conn::Pg(_) => Ok(()),
        Conn::Sqlite(c) => c.batch_execute(&format!(
            "PRAGMA wal_autocheckpoint = {SQLITE_AUTOCHECKPOINT_PAGES}"
        )),
    }
}

/// What a checkpoint found in the WAL: `frames` in it, `copied` of them in the database file.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub(crate) struct WalState {
    #[diesel(sql_type = BigInt, column_name = log)]
    pub frames: i64,
    #[diesel(sql_type = BigInt, column_name = checkpointed)]
    pub copied: i64,
}

impl WalState {
    /// Every frame is in the database file: the next writer may start the WAL over. False when
    /// the checkpoint did not run because another one held the checkpoint lock (SQLite then
    /// answers -1 for both counts).
    pub fn all_copied(&self) -> bool {
        self.frames >= 0 && self.copied == self.frames
    }
}

/// SQLite: copies what it can of the WAL into the database file without waiting for anyone
/// (`PRAGMA wal_checkpoint(PASSIVE)`); PostgreSQL: nothing (`None`).
pub(crate) fn checkpoint(conn: &mut Conn) -> QueryResult<Option<WalState>> {
    match conn {
        Conn::Pg(_) => Ok(None),
        Conn::Sqlite(c) => diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
            .get_result(c)
            .map(Some),
    }
}

/// Runs `f` holding the migration lock: a session advisory lock on PostgreSQL (released even
/// when `f` fails), one `BEGIN IMMEDIATE` transaction on SQLite.
pub(crate) fn with_migration_lock<T>(
    conn: &mut Conn,
    f: impl FnOnce(&mut Conn) -> Result<T>,
) -> Result<T> {
    match conn {
        Conn::Pg(c) => {
            diesel::sql_query("SELECT pg_advisory_lock($1)")
                .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
                .execute(c)?;
            let result = f(conn);
            if let Conn::Pg(c) = conn {
                diesel::sql_query("SELECT pg_advisory_unlock($1)")
                    .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
                    .execute(c)?;
            }
            result
        }
        Conn::Sqlite(_) => write_transaction(conn, f),
    }
}

/// Runs `f` in a write transaction and commits it if `f` succeeds, rolls it back if not.
///
/// On SQLite the outermost one begins with `BEGIN IMMEDIATE`, taking the database's write lock
/// before the first read (a deferred transaction that read first cannot upgrade and fails with
/// "database is locked" despite the busy timeout). On PostgreSQL it is a plain transaction.
/// Inside a transaction already open it is a savepoint, so a caller may own the transaction:
/// open it with this function and call store functions inside.
pub fn write_transaction<T, E>(
    conn: &mut Conn,
    f: impl FnOnce(&mut Conn) -> std::result::Result<T, E>,
) -> std::result::Result<T, E>
where
    E: From<DieselError>,
{
    let immediate = match conn {
        Conn::Sqlite(c) => {
            let outermost = AnsiTransactionManager::transaction_manager_status_mut(c)
                .transaction_depth()?
                .is_none();
            if outermost {
                AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
            }
            outermost
        }
        Conn::Pg(_) => false,
    };
    if !immediate {
        return conn.transaction(f);
    }
    type Manager = <Conn as Connection>::TransactionManager;
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        // The database may have rolled back on its own (SQLite on a full disk or an I/O error):
        // `error` is the cause to report, not the rollback's "not in a transaction".
        Err(error) => match Manager::rollback_transaction(conn) {
            Ok(())
            | Err(DieselError::BrokenTransactionManager)
            | Err(DieselError::NotInTransaction) => Err(error),
            Err(rollback_error) => Err(rollback_error.into()),
        },
    }
}

/// Serializes scheduling per account until the end of the current transaction. PostgreSQL:
/// one transaction-scoped advisory lock per account (keyed by the server's `hashtext`; a
/// collision only over-serializes), taken in key order so that two batches cannot deadlock.
/// One account (every single schedule) takes a statement diesel keeps prepared; several take
/// one statement over the list, parsed each time. SQLite: nothing to do, the `BEGIN IMMEDIATE`
/// of [`write_transaction`] holds the database.
pub(crate) fn lock_accounts(conn: &mut Conn, account_ids: &[&str]) -> QueryResult<()> {
    let Conn::Pg(c) = conn else {
        return Ok(());
    };
    let mut distinct = account_ids.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    match distinct[..] {
        [] => {}
        [account] => {
            diesel::select(pg::advisory_xact_lock(
                ACCOUNT_LOCK_CLASS,
                pg::hashtext(account),
            ))
            .execute(c)?;
        }
        _ => {
            diesel::sql_query(
                "SELECT pg_advisory_xact_lock($1, k) \
                 FROM (SELECT DISTINCT hashtext(a) AS k FROM unnest($2) AS a ORDER BY k) AS keys",
            )
            .bind::<Integer, _>(ACCOUNT_LOCK_CLASS)
            .bind::<Array<Text>, _>(&distinct)
            .execute(c)?;
        }
    }
    Ok(())
}

/// The account `id`, if it exists, and whether the clip `clip_id` exists, in one statement.
/// With `lock`, on PostgreSQL, the same statement takes the account's lock (see
/// [`lock_accounts`]), which saves a schedule one round trip of its eight. The lock is taken
/// only when the account exists; without it nothing is written. The row read with it cannot be
/// stale: accounts never change.
pub(crate) fn account_with_clip(
    conn: &mut Conn,
    id: &str,
    clip_id: &str,
    lock: bool,
) -> QueryResult<Option<(Account, bool)>> {
    use crate::schema::{clips, social_accounts as a};
    let account = a::table.find(id);
    let clip_exists = diesel::dsl::exists(clips::table.find(clip_id));
    if let (Conn::Pg(c), true) = (&mut *conn, lock) {
        let locked = pg::advisory_xact_lock(ACCOUNT_LOCK_CLASS, pg::hashtext(a::id));
        let found: Option<(Account, bool, bool)> = account
            .select((a::all_columns, clip_exists, locked.is_not_null()))
            .get_result(c)
            .optional()?;
        return Ok(found.map(|(account, clip, _)| (account, clip)));
    }
    let query = account.select((a::all_columns, clip_exists));
    on_backend!(conn, |c| query.get_result(c).optional())
}

/// PostgreSQL functions, declared for diesel's query builder: a statement built from them keeps
/// one prepared statement, where `sql_query` and SQL literals are parsed again every time.
mod pg {
    use diesel::sql_types::{Array, Integer, SingleValue, Text};

    /// The `void` that `pg_advisory_xact_lock` returns; never read.
    #[derive(Debug, diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "void"))]
    pub struct Void;

    diesel::define_sql_function! {
        #[sql_name = "pg_advisory_xact_lock"]
        fn advisory_xact_lock(class: Integer, key: Integer) -> Void;
    }
    diesel::define_sql_function! {
        fn hashtext(text: Text) -> Integer;
    }
    diesel::define_sql_function! {
        /// One row per element of `array`, in a select list.
        fn unnest<T: SingleValue>(array: Array<T>) -> T;
    }
}

/// SQL functions the store gives its SQLite connections, so that a statement can run the
/// store's own Rust code for each row: the tick builds a batch's events in one `INSERT …
/// SELECT` with them ([`enqueue_due`]). Only the store's statements name them (no view,
/// trigger or default does), so the database file stays readable by any SQLite.
mod sqlite {
    use chrono::{NaiveDate, NaiveDateTime};
    use diesel::deserialize::{self, FromSql, FromSqlRow};
    use diesel::sql_types::{Nullable, Text, Timestamp};
    use diesel::sqlite::{Sqlite, SqliteValue};
    use diesel::{QueryResult, SqliteConnection};

    use crate::tick::{enqueued_metadata, EnqueuedMetadata};

    diesel::define_sql_function! {
        /// A new ledger event id, as every event gets one ([`crate::new_ordered_id`]).
        fn scheduler_new_event_id() -> Text;
    }
    diesel::define_sql_function! {
        /// The metadata of a `publish_scheduled_enqueued` event
        /// ([`crate::tick::enqueued_metadata`]).
        fn scheduler_enqueued_metadata(
            clip_id: Text,
            platform: Text,
            social_account_id: Text,
            scheduled_for: Nullable<Timestamp>,
            enqueued_at: Text,
        ) -> Text;
    }

    /// Registers the functions on a new connection.
    pub(super) fn register_functions(c: &mut SqliteConnection) -> QueryResult<()> {
        scheduler_new_event_id_utils::register_nondeterministic_impl(c, || {
            crate::new_ordered_id("evt")
        })?;
        scheduler_enqueued_metadata_utils::register_impl(
            c,
            |clip_id: String,
             platform: String,
             social_account_id: String,
             scheduled_for: Option<StoredTime>,
             enqueued_at: String| {
                enqueued_metadata(EnqueuedMetadata {
                    clip_id: &clip_id,
                    enqueued_at: &enqueued_at,
                    platform: &platform,
                    scheduled_for: scheduled_for.map(|t| t.0),
                    social_account_id: &social_account_id,
                })
            },
        )
    }

    /// A stored `TIMESTAMP`, read as diesel reads a `NaiveDateTime`, but without chrono's
    /// format parser for the form the store writes whole seconds in (`2026-01-31 18:00:00`):
    /// that parser was 5% of a tick's instructions (`valgrind --tool=callgrind`).
    #[derive(Debug, FromSqlRow)]
    struct StoredTime(NaiveDateTime);

    impl FromSql<Timestamp, Sqlite> for StoredTime {
        fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
            if let Some(at) = whole_seconds(value.read_text()) {
                return Ok(Self(at));
            }
            <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(Self)
        }
    }

    /// `YYYY-MM-DD HH:MM:SS` exactly, as a valid time; `None` for anything else.
    fn whole_seconds(text: &str) -> Option<NaiveDateTime> {
        let b = text.as_bytes();
        let separators = [(4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':')];
        if b.len() != 19 || separators.iter().any(|&(i, c)| b[i] != c) {
            return None;
        }
        let number = |from: usize, to: usize| {
            b[from..to].iter().try_fold(0u32, |n, &c| {
                c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
            })
        };
        let year = i32::try_from(number(0, 4)?).ok()?;
        NaiveDate::from_ymd_opt(year, number(5, 7)?, number(8, 10)?)?.and_hms_opt(
            number(11, 13)?,
            number(14, 16)?,
            number(17, 19)?,
        )
    }

    #[cfg(test)]
    mod tests {
        use super::whole_seconds;

        #[test]
        fn whole_seconds_reads_only_the_form_the_store_writes() {
            let check = |text: &str, expected: Option<&str>| {
                let parsed = whole_seconds(text).map(|t| t.format("%F %T").to_string());
                assert_eq!(parsed.as_deref(), expected, "{text}");
            };
            check("2026-01-31 18:00:07", Some("2026-01-31 18:00:07"));
            check("0001-01-01 00:00:00", Some("0001-01-01 00:00:00"));
            // Everything else goes to diesel's own parser.
            check("2026-01-31 18:00:07.5", None);
            check("2026-01-31T18:00:07", None);
            check("2026-01-31 18:00", None);
            check("2026-02-30 18:00:00", None);
            check("2026-01-31 24:00:00", None);
            check("2026-01-31 18:00:60", None);
            check("2026-01-31 1a:00:00", None);
            check("+026-01-31 18:00:00", None);
        }
    }
}

/// The current time, in whole seconds: the database clock on PostgreSQL (one clock for every
/// host), `host_now` on SQLite (whose database is on this host).
pub(crate) fn database_now(conn: &mut Conn, host_now: DateTime<Utc>) -> QueryResult<DateTime<Utc>> {
    let now = match conn {
        Conn::Pg(c) => diesel::select(sql::<Timestamp>("now() AT TIME ZONE 'UTC'"))
            .get_result::<NaiveDateTime>(c)?
            .and_utc(),
        Conn::Sqlite(_) => host_now,
    };
    Ok(now.trunc_subsecs(0))
}

/// The columns an `INSERT … SELECT` of events fills, in its select list's order.
macro_rules! event_columns {
    () => {
        (
            ledger_events::id,
            ledger_events::event_type,
            ledger_events::entity_type,
            ledger_events::entity_id,
            ledger_events::metadata,
            ledger_events::created_at,
        )
    };
}

/// One tick batch: claims up to `limit` due logs, oldest first, sets them `pending`, and
/// writes one `publish_scheduled_enqueued` event for each, in that order; returns the moved ids
/// in that order (none when none is due). Due means `status = 'scheduled' AND scheduled_for <=
/// now`, as in [`due_logs!`], where `now` is the database clock on PostgreSQL (the
/// transaction's start) and `host_now` on SQLite (see [`database_now`]). The caller holds the
/// write transaction.
///
/// PostgreSQL: one statement claims and moves the batch. The claim, in a materialized CTE,
/// locks its rows and skips rows another transaction holds; the `UPDATE` joins it by primary
/// key and returns the moved rows with the time it set: one round trip, where a clock query,
/// the claim and an `UPDATE` by the claimed ids took three (see `docs/benchmarks.md`, tick,
/// session 5). The claim as an `IN` subquery of the `UPDATE` would plan as a hash join against
/// a sequential scan of the whole table for every batch; the CTE's `LIMIT` gives the planner its
/// size, and it joins by index. Its condition is [`due_logs!`]'s, in SQL: the two change
/// together. The events are built here and go in by one `INSERT … SELECT unnest(…)`
/// ([`insert_events`]).
///
/// SQLite, whose write lock already excludes others: two statements over the same claim, the
/// due logs `ORDER BY scheduled_for, id LIMIT n`, read in that order from the index on
/// `(status, scheduled_for, id)`. First `INSERT INTO ledger_events … SELECT …` the claimed logs,
/// whose event ids and metadata come from the store's own Rust code, called by SQLite for each
/// row ([`sqlite::register_functions`]); then `UPDATE … WHERE rowid IN (SELECT rowid …` the
/// claim `)`, which finds the same logs (nothing changed them in between, under the write lock,
/// and the order is total; the batch fails if the counts differ). The moved ids are read back
/// from the ledger, after the last event before the batch. The events never leave the
/// database: reading the moved rows back into Rust and writing 500 one-row `INSERT`s per batch
/// (with the index of old) ran 1.7× the instructions, the `INSERT` with a `RETURNING` clause
/// 1.16× (see `docs/benchmarks.md`, tick, session 6).
pub(crate) fn enqueue_due(
    conn: &mut Conn,
    host_now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<String>> {
    use crate::schema::publish_logs::dsl as p;
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
            let mut moved: Vec<Moved> = diesel::sql_query(
                "WITH claimed AS MATERIALIZED ( \
                   SELECT id FROM publish_logs \
                   WHERE status = $1 AND scheduled_for <= date_trunc('second', now()) \
                   ORDER BY scheduled_for, id \
                   LIMIT $2 \
                   FOR UPDATE SKIP LOCKED) \
                 UPDATE publish_logs AS p \
                 SET status = $3, updated_at = date_trunc('second', now()) \
                 FROM claimed WHERE p.id = claimed.id \
                 RETURNING p.id, p.clip_id, p.platform, p.social_account_id, p.scheduled_for, \
                   p.updated_at",
            )
            .bind::<Text, _>(status::SCHEDULED)
            .bind::<BigInt, _>(limit)
            .bind::<Text, _>(status::PENDING)
            .load(c)?;
            let Some(first) = moved.first() else {
                return Ok(Vec::new());
            };
            let at = first.updated_at.and_utc();
            let enqueued_at = scheduler_core::rfc3339(at);
            moved.sort_by(|a, b| (a.scheduled_for, &a.id).cmp(&(b.scheduled_for, &b.id)));
            let events: Vec<NewEventRow> = moved
                .iter()
                .map(|m| {
                    let metadata = EnqueuedMetadata {
                        clip_id: &m.clip_id,
                        enqueued_at: &enqueued_at,
                        platform: &m.platform,
                        scheduled_for: m.scheduled_for,
                        social_account_id: &m.social_account_id,
                    };
                    NewEventRow::publish_log(event_type::ENQUEUED, &m.id, &metadata, at)
                })
                .collect();
            insert_events_pg(c, &events)?;
            Ok(moved.into_iter().map(|m| m.id).collect())
        }
        Conn::Sqlite(c) => {
            use crate::schema::ledger_events::dsl as e;
            use crate::tick::due_log;
            use sqlite::{scheduler_enqueued_metadata, scheduler_new_event_id};
            let now = host_now.trunc_subsecs(0);
            // The claim, run by both statements: the same logs, under the write lock.
            let claim = || due_logs!(now.naive_utc()).limit(limit);
            let events = claim().select((
                scheduler_new_event_id(),
                event_type::ENQUEUED.into_sql::<Text>(),
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
                p::status.eq(status::PENDING),
                p::updated_at.eq(now.naive_utc()),
            ))
            .execute(c)?;
            if moved != written {
                // Cannot happen under the write lock; never commit events without their move.
                return Err(StoreError::Corrupt(format!(
                    "a tick batch wrote {written} events but moved {moved} logs"
                )));
            }
            Ok(ledger_events::table
                .filter(e::seq.gt(before))
                .order(e::seq)
                .select(e::entity_id)
                .load(c)?)
        }
    }
}

/// One event as a tuple of `column.eq(value)`. Diesel keeps a statement prepared, and finds
/// it by the statement's type alone, only when that type says its SQL is fixed. A derived
/// `Insertable` does not say so (any field could become `DEFAULT`): on PostgreSQL its statement
/// was parsed and planned again for every request, and on SQLite diesel wrote its SQL text out
/// again for every row to look the statement up (7% of a tick when the SQLite tick still wrote
/// its events one row at a time, session 4).
///
/// `$string` takes each string field by reference: `identity` to borrow it, `String::clone` for
/// an array of rows, whose statement type (diesel's key for it) must not borrow. `$created_at`
/// is the value bound for `created_at`.
macro_rules! event_values {
    ($row:expr, $string:path, $created_at:expr) => {{
        use crate::schema::ledger_events::dsl as e;
        let row: &NewEventRow = $row;
        (
            e::id.eq($string(&row.id)),
            e::event_type.eq(row.event_type),
            e::entity_type.eq(row.entity_type),
            e::entity_id.eq($string(&row.entity_id)),
            e::metadata.eq($string(&row.metadata)),
            e::created_at.eq($created_at),
        )
    }};
}

/// Inserts ledger events, in order, each with a statement kept prepared where it counts.
///
/// PostgreSQL: the one or two events of a schedule in one `INSERT` kept prepared for that
/// count; more (a tick batch, a batch of schedules) in one `INSERT … SELECT` from `unnest` of
/// one array per column, also kept prepared. The multi-row `VALUES` it replaces (six bind
/// parameters per row, parsed and planned anew for every batch) made a tick's inserts 20%
/// slower. SQLite, where a statement costs no round trip: one row per statement, with the one
/// statement it keeps prepared (measured on 500-event tick batches, before the SQLite tick
/// built its events in SQL ([`enqueue_due`]): a multi-row `INSERT` was prepared anew each time
/// and cost more than the rows; an `INSERT … SELECT` from `json_each` was no faster).
pub(crate) fn insert_events(conn: &mut Conn, rows: &[NewEventRow]) -> QueryResult<()> {
    match conn {
        Conn::Pg(c) => insert_events_pg(c, rows),
        Conn::Sqlite(c) => insert_events_sqlite(c, rows),
    }
}

/// [`insert_events`] on PostgreSQL.
fn insert_events_pg(c: &mut diesel::PgConnection, rows: &[NewEventRow]) -> QueryResult<()> {
    let insert = || diesel::insert_into(ledger_events::table);
    match rows {
        [] => {}
        [one] => {
            insert()
                .values(event_values!(one, identity, one.created_at))
                .execute(c)?;
        }
        [first, second] => {
            insert()
                .values([
                    event_values!(first, String::clone, first.created_at),
                    event_values!(second, String::clone, second.created_at),
                ])
                .execute(c)?;
        }
        _ => {
            let column = |f: fn(&NewEventRow) -> &str| rows.iter().map(f).collect::<Vec<_>>();
            let created_at: Vec<NaiveDateTime> = rows.iter().map(|r| r.created_at).collect();
            // Several set-returning functions in one select list advance together, row by
            // row, in array order.
            let from_arrays = diesel::select((
                pg::unnest::<Text, _>(column(|r| &r.id)),
                pg::unnest::<Text, _>(column(|r| r.event_type)),
                pg::unnest::<Text, _>(column(|r| r.entity_type)),
                pg::unnest::<Text, _>(column(|r| &r.entity_id)),
                pg::unnest::<Text, _>(column(|r| &r.metadata)),
                pg::unnest::<Timestamp, _>(created_at),
            ));
            insert()
                .values(from_arrays)
                .into_columns(event_columns!())
                .execute(c)?;
        }
    }
    Ok(())
}

/// [`insert_events`] on SQLite.
fn insert_events_sqlite(c: &mut diesel::SqliteConnection, rows: &[NewEventRow]) -> QueryResult<()> {
    // The events written together share their time: written out once, not per row.
    let mut created_at: Option<(NaiveDateTime, String)> = None;
    for row in rows {
        let text = match &created_at {
            Some((at, text)) if *at == row.created_at => text,
            _ => {
                &created_at
                    .insert((row.created_at, sqlite_timestamp(row.created_at)))
                    .1
            }
        };
        diesel::insert_into(ledger_events::table)
            .values(event_values!(row, identity, SqliteTimestamp(text)))
            .execute(c)?;
    }
    Ok(())
}

/// `at` as diesel writes a `NaiveDateTime` to SQLite (`"%F %T%.f"`: `2026-01-31 18:00:00`, a
/// fraction only when there is one), so that every `TIMESTAMP` compares and sorts as text with
/// the others.
fn sqlite_timestamp(at: NaiveDateTime) -> String {
    at.format("%F %T%.f").to_string()
}

/// A SQLite `TIMESTAMP` already written out ([`sqlite_timestamp`]), bound as it is: the events
/// of a batch of schedules share their time. Formatting the same time for every event through
/// chrono's format string was 3.6% of a tick's instructions when the SQLite tick wrote its
/// events this way (`valgrind --tool=callgrind`, session 5).
#[derive(Debug, Clone, Copy, diesel::expression::AsExpression)]
#[diesel(sql_type = Timestamp)]
struct SqliteTimestamp<'a>(&'a str);

impl diesel::serialize::ToSql<Timestamp, diesel::sqlite::Sqlite> for SqliteTimestamp<'_> {
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, diesel::sqlite::Sqlite>,
    ) -> diesel::serialize::Result {
        out.set_value(self.0);
        Ok(diesel::serialize::IsNull::No)
    }
}
