//! [`Db`]: the one way in to a database. It opens it for what the program does ([`Mode`]),
//! pools the connections, and decides how each read, write and tick reaches the backend, so
//! that callers never do: on SQLite, short writes are committed in groups by one thread and the
//! WAL is copied by another; on PostgreSQL every request has a pooled connection of its own.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use scheduler_core::RuleSet;

use crate::conn::{write_transaction, Conn, JobError};
use crate::error::{Result, StoreError};
use crate::group::GroupWriter;
use crate::migrations::{require_migrated, run_migrations};
use crate::pool::{ConnectionManager, PooledConn};
use crate::session::{check_writable, connect_session};
use crate::tick::{tick_with, TickOutcome};
use crate::url::DatabaseUrl;
use crate::wal::{self, Checkpointer};

/// What a program does with the database it opens: whether it creates and migrates it, and
/// whether it writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// Create a missing SQLite file and apply the pending migrations (a server).
    Migrate,
    /// An existing database whose schema is up to date, read and written (a tick).
    #[default]
    ReadWrite,
    /// An existing database whose schema is up to date, only read (a dry run): nothing is
    /// written to it, not even to check its schema or switch a SQLite file to WAL, so it works
    /// on a read-only file or a PostgreSQL standby.
    ReadOnly,
}

/// How [`Db::open`] opens the database.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Whether to create, migrate and write the database.
    pub mode: Mode,
    /// The most connections the pool holds.
    pub max_connections: u32,
    /// How long a read or write waits for a free connection.
    pub connection_timeout: Duration,
    /// SQLite: how many pages the WAL may hold before the writer starts it over, once the
    /// background thread has copied them all. Each start-over stops the writer for two
    /// `fsync`s (tens of milliseconds on a busy disk), so a larger WAL means fewer stalls; the
    /// WAL file keeps its largest size (about 4 KiB per page) on disk. At most 20,000.
    pub wal_restart_pages: u32,
}

impl Default for OpenOptions {
    /// [`Mode::ReadWrite`], 8 connections, a 10-second wait, a WAL started over past 16,384
    /// pages (64 MiB).
    fn default() -> Self {
        Self {
            mode: Mode::ReadWrite,
            max_connections: 8,
            connection_timeout: Duration::from_secs(10),
            wal_restart_pages: 16_384,
        }
    }
}

/// A connection lent by the pool, as a [`Conn`].
struct Lent(PooledConn);

impl Deref for Lent {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        &self.0
    }
}

impl DerefMut for Lent {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.0
    }
}

/// A database, opened: a pool of connections and, on SQLite, the threads that serve its
/// single writer. Clones share all of it; the threads stop with the last clone.
///
/// Programs reach the database through [`Db::read`], [`Db::write`] and [`Db::tick`] (async, off
/// the caller's runtime threads), or [`Db::tick_blocking`]. On SQLite, which lets one
/// connection write at a time, writers share a pool of exactly one connection: they queue in
/// the process instead of spinning in SQLite's busy handler, and [`Db::write`] commits the
/// short writes waiting at the same moment together (see `group.rs`); readers keep their own
/// pool and, with WAL, never wait for the writer.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<ConnectionManager>,
    /// SQLite only: the one connection that writes.
    writer: Option<r2d2::Pool<ConnectionManager>>,
    /// SQLite only (unless read-only): commits short writes in groups.
    group: Option<GroupWriter>,
    /// SQLite only (unless read-only): copies the WAL in the background.
    checkpointer: Option<Arc<Checkpointer>>,
    url: DatabaseUrl,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("url", &self.url).finish()
    }
}

impl Db {
    /// Opens the database: one connection first, so that an unreachable server, a missing
    /// file, a file this process may not write or a schema that is not up to date fails at once
    /// with its cause (and SQLite's WAL mode is set once, before the pool opens connections in
    /// parallel), then the pool. [`Mode::Migrate`] applies the pending migrations here.
    pub fn open(url: &DatabaseUrl, options: &OpenOptions) -> Result<Self> {
        let read_only = options.mode == Mode::ReadOnly;
        let mut first = connect_session(url, options.mode == Mode::Migrate, read_only)?;
        if options.mode != Mode::Migrate {
            require_migrated(&mut first)?;
        }
        if !read_only {
            check_writable(&mut first)?;
            if let Conn::Sqlite(c) = &mut first {
                wal::use_wal(c)?;
            }
        }
        if options.mode == Mode::Migrate {
            run_migrations(&mut first)?;
            let filled = crate::accounts::fill_calendar_keys(&mut first)?;
            if filled > 0 {
                log::info!("gave {filled} accounts a calendar key");
            }
        }
        drop(first);
        let pool = |size: u32, read_only: bool| {
            let manager = ConnectionManager::new(url.clone(), read_only);
            r2d2::Pool::builder()
                .max_size(size.max(1))
                .min_idle(Some(1))
                .connection_timeout(options.connection_timeout)
                .build(manager)
        };
        let sqlite = matches!(url, DatabaseUrl::Sqlite(_));
        let mut db = Self {
            // On SQLite this pool only reads (its sessions refuse writes, so that a write
            // through `Db::read` fails loudly instead of bypassing the writer).
            pool: pool(options.max_connections, read_only || sqlite)?,
            writer: None,
            group: None,
            checkpointer: None,
            url: url.clone(),
        };
        if let (DatabaseUrl::Sqlite(path), false) = (url, read_only) {
            let writer = pool(1, false)?;
            let checkpointer = Arc::new(Checkpointer::start(path, options.wal_restart_pages)?);
            let (from, after) = (writer.clone(), Arc::clone(&checkpointer));
            db.group = Some(
                GroupWriter::start(move || Ok(Lent(from.get()?)), move |c| after.finish(c))
                    .map_err(|e| StoreError::Unavailable(format!("cannot start a thread: {e}")))?,
            );
            db.writer = Some(writer);
            db.checkpointer = Some(checkpointer);
        }
        Ok(db)
    }

    /// The database this pool connects to (its `Display` hides a password).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// A pooled connection for reading (on SQLite it refuses writes; write with
    /// [`Db::write`] or [`Db::writer`]).
    pub fn conn(&self) -> Result<PooledConn> {
        Ok(self.pool.get()?)
    }

    /// The connection for writing outside [`Db::write`]: on SQLite the one writer connection,
    /// waited for in turn; on PostgreSQL any pooled one.
    pub fn writer(&self) -> Result<PooledConn> {
        Ok(self.writer.as_ref().unwrap_or(&self.pool).get()?)
    }

    /// Runs `f` on a pooled connection, on the blocking thread pool (the checkout included),
    /// never on the caller's async worker. `f` only reads: on SQLite the connection refuses
    /// writes.
    pub async fn read<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut Conn) -> std::result::Result<T, E> + Send + 'static,
    {
        let pool = self.pool.clone();
        blocking(move || {
            let mut conn = pool.get().map_err(StoreError::from)?;
            f(&mut conn)
        })
        .await
    }

    /// Runs `f` as one short write transaction: committed if it succeeds, rolled back if not,
    /// and answered only once committed. Store functions called inside join it.
    ///
    /// SQLite: queued for the group-commit thread, which runs it in a savepoint of a
    /// transaction it shares with the other queued writes (so `f` must not commit on its own);
    /// no blocking thread waits meanwhile. PostgreSQL: a transaction on a pooled connection of
    /// its own, on the blocking thread pool.
    pub async fn write<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut Conn) -> std::result::Result<T, E> + Send + 'static,
    {
        if let Some(group) = &self.group {
            let (answer, answered) = tokio::sync::oneshot::channel();
            group.submit(f, move |result| {
                // The caller may have gone (a client disconnected): nobody to answer.
                let _ = answer.send(result);
            })?;
            return answered.await.unwrap_or_else(|_| {
                Err(StoreError::Internal("a write ended without an answer".to_owned()).into())
            });
        }
        let pool = self.pool.clone();
        blocking(move || {
            let mut conn = pool.get().map_err(StoreError::from)?;
            write_transaction(&mut conn, |conn| f(conn).map_err(JobError::Job))
                .map_err(JobError::into_inner)
        })
        .await
    }

    /// [`Db::write`] for an `f` whose writes are one store call that is atomic on its own (one
    /// that opens its own write transaction, as [`crate::schedule`] does), and that does not
    /// fail after it. PostgreSQL: `f` runs outside a transaction, so a store call that writes in
    /// one statement (the common schedule) costs no `BEGIN` and `COMMIT` round trips. SQLite:
    /// as [`Db::write`], in the group commit.
    pub async fn write_atomic<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut Conn) -> std::result::Result<T, E> + Send + 'static,
    {
        if matches!(self.url, DatabaseUrl::Sqlite(_)) {
            return self.write(f).await;
        }
        let pool = self.pool.clone();
        blocking(move || {
            let mut conn = pool.get().map_err(StoreError::from)?;
            f(&mut conn)
        })
        .await
    }

    /// [`crate::tick`], off the caller's async workers: see [`Db::tick_blocking`].
    pub async fn tick(
        &self,
        rules: Arc<RuleSet>,
        batch_size: u32,
        dry_run: bool,
        host_now: DateTime<Utc>,
    ) -> Result<TickOutcome> {
        let db = self.clone();
        blocking(move || db.tick_blocking(&rules, batch_size, dry_run, host_now)).await
    }

    /// [`crate::tick`] on the writer connection, batch by batch; on SQLite the WAL may start
    /// over between batches instead of growing with every batch until a long tick ends.
    pub fn tick_blocking(
        &self,
        rules: &RuleSet,
        batch_size: u32,
        dry_run: bool,
        host_now: DateTime<Utc>,
    ) -> Result<TickOutcome> {
        let mut conn = self.writer()?;
        tick_with(&mut conn, rules, batch_size, dry_run, host_now, |conn| {
            if let Some(checkpointer) = &self.checkpointer {
                checkpointer.finish(conn);
            }
        })
    }
}

/// Runs `f` on the blocking thread pool of the Tokio runtime it is called from.
async fn blocking<T, E>(
    f: impl FnOnce() -> std::result::Result<T, E> + Send + 'static,
) -> std::result::Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(StoreError::Internal(format!("a database task failed: {e}")).into())
    })
}
