//! Persistence of the publishing scheduler, on SQLite or PostgreSQL through one diesel code
//! path.
//!
//! - [`db`]: database URLs, connections ([`Conn`]), the pool ([`Db`]) and the embedded
//!   migrations.
//! - [`backend`]: the only place with backend-specific SQL, including [`write_transaction`].
//! - [`group`]: group commit of many small write transactions on one writer thread
//!   ([`GroupWriter`]).
//! - [`accounts`], [`schedule`], [`tick`], [`ledger`], [`idempotency`]: the operations. Each
//!   takes a `&mut Conn`; writes open their own write transaction, or a savepoint inside one
//!   the caller opened with [`write_transaction`].
//!
//! Statements are written so that diesel and SQLite can keep them prepared: a lookup by
//! primary key is `find(id).get_result`, never `.first()` (whose `LIMIT ?` makes a SQLite built
//! with STAT4, as the bundled one is, prepare the statement again on every execution), and a
//! fixed set of values is a chain of `=` rather than `eq_any` (an `IN (…)` diesel never caches).
//!
//! Planning is `scheduler_core`'s; the store feeds it the account's posts near the requested
//! time and writes the result with its ledger events atomically.

pub mod accounts;
pub mod backend;
pub mod db;
mod error;
pub mod group;
pub mod idempotency;
pub mod ledger;
pub mod models;
pub mod schedule;
pub mod schema;
pub mod tick;

pub use accounts::{create_account, create_clip, get_account, get_clip, NewAccount, NewClip};
pub use backend::write_transaction;
pub use db::{
    connect, pending_migrations, require_migrated, run_migrations, Conn, DatabaseUrl, Db, Mode,
    OpenOptions, PooledConn,
};
pub use error::{Result, StoreError};
pub use group::GroupWriter;
pub use idempotency::{find_response, save_response, StoredResponse};
pub use ledger::{list_events, EventFilter};
pub use models::{Account, Clip, LedgerEvent, PublishLog, ScheduledBy};
pub use schedule::{
    cancel, get_log, list_clip_schedule, reschedule, schedule, schedule_batch, BatchItem,
    NewSchedule, Reschedule, Scheduled,
};
pub use tick::{tick, TickOutcome};

use diesel::RunQueryDsl;

/// Whether the database answers (`SELECT 1`).
pub fn ping(conn: &mut Conn) -> Result<()> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}

/// A new id: `prefix` and a random UUID without dashes (`log_3f2a…`).
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// A new id that sorts after the ids made before it: `prefix` and a time-ordered UUID (v7)
/// without dashes (`evt_0193…`). For the rows written most (publish logs, ledger events):
/// their unique index, and the ledger's index by entity id, grow at the right edge instead of
/// taking a random page per row, and every page a write changes is written again to SQLite's
/// WAL at each commit (a tick batch of random event ids rewrote most of that index; a group of
/// schedule requests wrote one more page per request for each such index).
pub(crate) fn new_ordered_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}
