//! Persistence of the publishing scheduler, on SQLite or PostgreSQL through one diesel code
//! path.
//!
//! - [`Db`]: the way in. It opens a database for what the program does ([`Mode`]) and runs
//!   reads, writes and ticks the way the backend needs ([`Db::read`], [`Db::write`],
//!   [`Db::tick`]).
//! - The operations, each a function of a `&mut` [`Conn`] so that the caller owns the
//!   transaction ([`write_transaction`]): [`accounts`], [`schedule`], [`logs`], [`handoff`], [`tick`],
//!   [`ledger`], [`series`], [`webhooks`], [`idempotency`].
//! - [`models`]: the rows, typed; [`schema`]: the tables; [`migrations`].
//!
//! Where the backends differ, the variants sit next to the operation they belong to, matched
//! on the [`Conn`] variant. Statements are written so that diesel and SQLite can keep them
//! prepared: a lookup by primary key is `find(id).get_result`, never `.first()` (whose `LIMIT ?`
//! makes a SQLite built with STAT4, as the bundled one is, prepare the statement again on every
//! execution), and a fixed set of values is a chain of `=` rather than `eq_any` (an `IN (…)`
//! diesel never caches).
//!
//! Planning is `scheduler_core`'s; the store feeds it the account's posts near the requested
//! time and writes the result with its ledger events atomically.

mod account_lock;
pub mod accounts;
mod backlog;
mod calendar;
pub mod calendar_feed;
mod conn;
pub mod cursor;
mod db;
mod displacement;
pub mod engagement;
mod error;
pub mod events;
mod group;
pub mod handoff;
pub mod idempotency;
pub mod ledger;
pub mod logs;
pub mod migrations;
pub mod models;
mod new_log;
mod pool;
pub mod schedule;
pub mod schema;
pub mod series;
mod session;
pub mod suggestions;
pub mod tick;
mod url;
mod wal;
pub mod webhooks;

pub use accounts::{
    create_account, create_clip, fill_calendar_keys, get_account, get_clip, list_accounts,
    rotate_calendar_key, NewAccount, NewClip, MAX_ACCOUNTS_PAGE,
};
pub use backlog::{backlog, Backlog};
pub use calendar_feed::{calendar_posts, CalendarFilter, CalendarPost};
pub use conn::{savepoint, write_transaction, Conn};
pub use db::{Db, Mode, OpenOptions};
pub use engagement::{record_engagement, Engagement};
pub use error::{Refusal, RefusalKind, Result, StoreError};
pub use events::EventType;
pub use handoff::{
    claim, complete, confirm, fail, heartbeat, retry, AfterFailure, Claim, ClaimRequest,
    Completion, Failure, FailureKind,
};
pub use ledger::{feed, list_events, EventFilter, FeedCursor, FeedPage};
pub use logs::{
    cancel, get_log, list_clip_schedule, list_logs, reschedule, LogFilter, LogPage, Reschedule,
};
pub use migrations::{pending_migrations, require_migrated, run_migrations};
pub use models::{Account, Clip, LedgerEvent, PublishLog, ScheduledBy, Status};
pub use pool::{ConnectionManager, PoolConn, PooledConn};
pub use schedule::{schedule, schedule_batch, BatchItem, NewSchedule, Scheduled, Strategy};
pub use series::{
    cancel_series, create_series, get_series, list_series, preview_series, update_series,
    NewSeries, Series, SeriesChange, SeriesFilter, SeriesPage, SeriesStatus, SeriesView, Upcoming,
};
pub use session::connect;
pub use suggestions::{history_since, suggestions, Suggested, MAX_SUGGESTIONS};
pub use tick::{tick, TickOutcome};
pub use url::DatabaseUrl;

use diesel::RunQueryDsl;

/// Whether the database answers (`SELECT 1`).
pub fn ping(conn: &mut Conn) -> Result<()> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}

/// A new id: `prefix` and a random UUID without dashes (`acc_3f2a…`).
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// A new id that sorts after the ids made before it: `prefix` and a time-ordered UUID (v7)
/// without dashes (`evt_0193…`). For the rows written most (publish logs, ledger events):
/// their unique index, and the ledger's index by entity id, grow at the right edge instead of
/// taking a random page per row, and every page a write changes is written again to SQLite's
/// WAL at each commit.
pub(crate) fn new_ordered_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}
