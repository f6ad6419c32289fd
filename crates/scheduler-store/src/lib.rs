//! Persistence of the publishing scheduler, on SQLite or PostgreSQL through one diesel code
//! path.
//!
//! - [`db`]: database URLs, connections ([`Conn`]), the pool ([`Db`]) and the embedded
//!   migrations.
//! - [`backend`]: the only place with backend-specific SQL, including [`write_transaction`].
//! - [`accounts`], [`schedule`], [`tick`], [`ledger`], [`idempotency`]: the operations. Each
//!   takes a `&mut Conn`; writes open their own write transaction, or a savepoint inside one
//!   the caller opened with [`write_transaction`].
//!
//! Planning is `scheduler_core`'s; the store feeds it the account's posts near the requested
//! time and writes the result with its ledger events atomically.

pub mod accounts;
pub mod backend;
pub mod db;
mod error;
pub mod idempotency;
pub mod ledger;
pub mod models;
pub mod schedule;
pub mod schema;
pub mod tick;

pub use accounts::{create_account, create_clip, get_account, get_clip, NewAccount, NewClip};
pub use backend::write_transaction;
pub use db::{
    connect, pending_migrations, require_migrated, run_migrations, Conn, DatabaseUrl, Db,
    OpenOptions, PooledConn,
};
pub use error::{Result, StoreError};
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
/// without dashes (`evt_0193…`). For rows written many at a time (ledger events): their
/// unique index grows at its right edge instead of dirtying a random page per row, which on
/// SQLite made each tick batch rewrite most of the index into the WAL.
pub(crate) fn new_ordered_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}
