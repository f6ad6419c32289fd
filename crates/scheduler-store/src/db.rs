//! Database URLs, connections, the connection pool and the embedded migrations.
//!
//! The backend is chosen from the URL's scheme, and each backend's own `establish` opens the
//! connection, so a failure carries the real cause ("connection refused", "unable to open
//! database file") instead of the derived multi-connection's generic error.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use diesel::connection::Connection;
use diesel::migration::MigrationSource;
use diesel::pg::PgConnection;
use diesel::r2d2::R2D2Connection;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::backend::{self, WalState};
use crate::error::{Result, StoreError};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Runs `$body` with `$c` bound to the backend's own connection inside a [`Conn`]: the same
/// diesel query, compiled once per backend.
///
/// For the statements of the hot paths (scheduling). Through `MultiConnection` diesel renders
/// the SQL text of every query and binds its values through an extra layer to find the
/// prepared statement; on the backend's own connection the statement is found by the query's
/// type. Not a place for SQL that differs between backends: that is [`crate::backend`]'s.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Pg($c) => $body,
            $crate::db::Conn::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// A connection to either backend. Every store function takes one; the code path is shared,
/// and [`crate::backend`] holds the few statements that differ. Open it with [`connect`] (or
/// take it from a [`Db`]): that applies the session settings the store relies on (on SQLite,
/// foreign keys among them, and the SQL functions the tick calls).
#[derive(diesel::MultiConnection)]
pub enum Conn {
    /// PostgreSQL.
    Pg(PgConnection),
    /// SQLite.
    Sqlite(SqliteConnection),
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Conn::Pg(_) => "Conn::Pg",
            Conn::Sqlite(_) => "Conn::Sqlite",
        })
    }
}

/// Where the database is.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file (`PATH` or `sqlite://PATH`).
    Sqlite(String),
    /// A PostgreSQL URL (`postgres://…` or `postgresql://…`).
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses a plain file path or `sqlite://PATH` (SQLite), or `postgres://…` /
    /// `postgresql://…` (PostgreSQL). Any other scheme is an error.
    pub fn parse(input: &str) -> Result<Self> {
        let input = input.trim();
        if input.starts_with("postgres://") || input.starts_with("postgresql://") {
            return Ok(Self::Postgres(input.to_owned()));
        }
        let path = input.strip_prefix("sqlite://").unwrap_or(input);
        if path.is_empty() {
            return Err(StoreError::InvalidUrl(
                "empty database URL: give a SQLite file path, sqlite://PATH or postgres://…"
                    .to_owned(),
            ));
        }
        if path.contains("://") {
            return Err(StoreError::InvalidUrl(format!(
                "unsupported database URL {}: use a SQLite file path, sqlite://PATH, postgres://… or postgresql://…",
                redact(input)
            )));
        }
        Ok(Self::Sqlite(path.to_owned()))
    }

    /// Whether this is a SQLite database.
    pub fn is_sqlite(&self) -> bool {
        matches!(self, Self::Sqlite(_))
    }
}

/// The URL without its password.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => f.write_str(path),
            Self::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// `scheme://user:secret@host…` → `scheme://user:***@host…`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

/// Opens one connection, ready for use (session settings applied; see
/// [`crate::backend`]). With `create_if_missing` false, a SQLite file that does not exist is
/// an error ([`StoreError::DatabaseFileNotFound`]) instead of a new empty database.
pub fn connect(url: &DatabaseUrl, create_if_missing: bool) -> Result<Conn> {
    connect_session(url, create_if_missing, false)
}

/// [`connect`], with a session that refuses every write when `read_only`.
fn connect_session(url: &DatabaseUrl, create_if_missing: bool, read_only: bool) -> Result<Conn> {
    let connect_error = |e: diesel::ConnectionError| StoreError::Connect {
        target: url.to_string(),
        cause: e.to_string(),
    };
    let mut conn = match url {
        DatabaseUrl::Postgres(u) => PgConnection::establish(u).map(Conn::Pg),
        DatabaseUrl::Sqlite(path) => {
            if !create_if_missing && !Path::new(path).exists() {
                return Err(StoreError::DatabaseFileNotFound(path.clone()));
            }
            SqliteConnection::establish(path).map(Conn::Sqlite)
        }
    }
    .map_err(connect_error)?;
    backend::prepare_session(&mut conn, read_only)?;
    Ok(conn)
}

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
    /// How long [`Db::conn`] waits for a free connection.
    pub connection_timeout: Duration,
    /// SQLite: how many pages the WAL may hold before the writer starts it over, once the
    /// background thread has copied them all (see [`Checkpointer`]). Each start-over stops the
    /// writer for two `fsync`s (tens of milliseconds on a busy disk), so a larger WAL means
    /// fewer stalls; the WAL file keeps its largest size (about 4 KiB per page) on disk. At most
    /// half of [`crate::backend::SQLITE_AUTOCHECKPOINT_PAGES`].
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

/// Opens the pool's connections with [`connect`], so each one has its session settings.
#[derive(Debug)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    read_only: bool,
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = Conn;
    type Error = StoreError;

    fn connect(&self) -> Result<Conn> {
        let mut conn = connect_session(&self.url, false, self.read_only)?;
        backend::leave_checkpoints_to_checkpointer(&mut conn)?;
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<()> {
        conn.ping().map_err(StoreError::from)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// A connection borrowed from the pool; it derefs to [`Conn`].
pub type PooledConn = r2d2::PooledConnection<ConnectionManager>;

/// A pool of connections to one database.
///
/// Writes take [`Db::writer`], reads [`Db::conn`]. On PostgreSQL both come from one pool. On
/// SQLite, which lets one connection write at a time, writers share a pool of exactly one
/// connection: they queue in the process (on a condition variable) instead of spinning in
/// SQLite's busy handler, whose sleeps of up to 100 ms made the latency tail under load (p99
/// 741 ms against 49 ms with one writer; `docs/benchmarks.md`). Readers keep their own pool and,
/// with WAL, never wait for the writer. Another process writing the same file still meets the
/// busy timeout.
///
/// On SQLite a background thread of the `Db` checkpoints the WAL into the database file (see
/// [`Checkpointer`]), so writers do not.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<ConnectionManager>,
    /// SQLite only: the one connection that writes.
    writer: Option<r2d2::Pool<ConnectionManager>>,
    url: DatabaseUrl,
    /// SQLite only; the thread stops when the last clone of the `Db` is dropped.
    checkpointer: Option<Arc<Checkpointer>>,
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
        match options.mode {
            Mode::Migrate => {
                backend::check_writable(&mut first)?;
                backend::prepare_database(&mut first)?;
                run_migrations(&mut first)?;
            }
            Mode::ReadWrite => {
                require_migrated(&mut first)?;
                backend::check_writable(&mut first)?;
                backend::prepare_database(&mut first)?;
            }
            Mode::ReadOnly => require_migrated(&mut first)?,
        }
        drop(first);
        let pool = |size: u32| {
            let manager = ConnectionManager {
                url: url.clone(),
                read_only,
            };
            r2d2::Pool::builder()
                .max_size(size.max(1))
                .min_idle(Some(1))
                .connection_timeout(options.connection_timeout)
                .build(manager)
        };
        Ok(Self {
            pool: pool(options.max_connections)?,
            writer: url.is_sqlite().then(|| pool(1)).transpose()?,
            url: url.clone(),
            // A reader leaves the WAL to the programs that write it.
            checkpointer: match url {
                DatabaseUrl::Sqlite(_) if !read_only => Some(Arc::new(Checkpointer::start(
                    url,
                    options.wal_restart_pages,
                )?)),
                _ => None,
            },
        })
    }

    /// A connection for reading.
    pub fn conn(&self) -> Result<PooledConn> {
        Ok(self.pool.get()?)
    }

    /// A connection for writing: on SQLite the one writer connection, waited for in turn; on
    /// PostgreSQL any pooled connection.
    pub fn writer(&self) -> Result<PooledConn> {
        Ok(self.writer.as_ref().unwrap_or(&self.pool).get()?)
    }

    /// SQLite: if the background checkpoint asked for it, checkpoints on `writer` (the writer
    /// connection, outside any transaction), so that the next write transaction starts the WAL
    /// over (see [`Checkpointer`]). Cheap: the background thread copied all but the last frames.
    /// PostgreSQL: nothing. A failure is logged; the WAL just grows until the next try.
    pub fn finish_checkpoint(&self, writer: &mut Conn) {
        let Some(checkpointer) = &self.checkpointer else {
            return;
        };
        if checkpointer.restart_wanted.swap(false, Ordering::Relaxed) {
            match backend::checkpoint(writer) {
                Ok(Some(wal)) if wal.all_copied() => {}
                // The background thread held the checkpoint lock (it may have begun its next
                // round meanwhile), or a reader kept frames from being copied: try again after
                // the next transaction rather than wait for the next request.
                Ok(_) => checkpointer.restart_wanted.store(true, Ordering::Relaxed),
                Err(e) => log::warn!("WAL checkpoint of {}: {e}", self.url),
            }
        }
    }

    /// The database this pool connects to.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }
}

/// SQLite: a thread that copies the WAL into the database file every
/// [`Checkpointer::EVERY`] with a passive checkpoint, which never blocks readers or the writer.
///
/// Left to SQLite, the connection whose commit grows the WAL past 1,000 pages checkpoints it
/// inside that commit, `fsync`s included, and the writer and every request waiting for it
/// stand still meanwhile (17% of the api-server's time went to I/O wait under load). Here the
/// copying and its `fsync`s happen on this thread. Only a writer can start the WAL over from its
/// beginning, and only when all of it was copied: when this thread finds the WAL past
/// [`OpenOptions::wal_restart_pages`] frames and copied, it asks for a last checkpoint on the writer
/// connection ([`Db::finish_checkpoint`]), which has only the frames of the last moments left to
/// copy; the next write transaction then starts the WAL over. The pool's connections checkpoint
/// by themselves only past [`backend::SQLITE_AUTOCHECKPOINT_PAGES`], a safety net.
#[derive(Debug)]
struct Checkpointer {
    /// Set by the thread, taken by [`Db::finish_checkpoint`].
    restart_wanted: Arc<AtomicBool>,
    /// Dropped with the last `Db`: the thread sees the channel closed and ends.
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    const EVERY: Duration = Duration::from_millis(100);
    /// Frames written during a checkpoint that are few enough for the writer to copy.
    const SMALL_TAIL: i64 = 64;

    fn start(url: &DatabaseUrl, restart_at: u32) -> Result<Self> {
        // Well under the pool connections' own checkpoint, the safety net.
        let restart_at = i64::from(restart_at.clamp(1, backend::SQLITE_AUTOCHECKPOINT_PAGES / 2));
        let (stop, stopped) = mpsc::channel::<()>();
        let restart_wanted = Arc::new(AtomicBool::new(false));
        let (url, wanted) = (url.clone(), Arc::clone(&restart_wanted));
        std::thread::Builder::new()
            .name("wal-checkpoint".to_owned())
            .spawn(move || {
                let mut conn = None;
                let mut synced = -1;
                let mut failing: Option<String> = None;
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(Self::EVERY) {
                    let result = match &mut conn {
                        Some(c) => Self::pass(c, restart_at),
                        None => connect(&url, false).map(|c| {
                            conn = Some(c);
                            None
                        }),
                    };
                    match result {
                        Ok(Some(wal)) => {
                            if wal.copied > 0 && wal.copied != synced {
                                Self::sync_database_file(&url);
                                synced = wal.copied;
                            }
                            if wal.frames >= restart_at && wal.all_copied() {
                                wanted.store(true, Ordering::Relaxed);
                            }
                        }
                        Ok(None) => {}
                        Err(e) => {
                            // Once per distinct failure, not ten times a second.
                            let message = e.to_string();
                            if failing.as_deref() != Some(message.as_str()) {
                                log::warn!("WAL checkpoint of {url}: {message}; retrying");
                                failing = Some(message);
                            }
                            conn = None;
                            continue;
                        }
                    }
                    if failing.take().is_some() {
                        log::info!("WAL checkpoint of {url}: working again");
                    }
                }
            })
            .map_err(|e| StoreError::Unavailable(format!("cannot start a thread: {e}")))?;
        Ok(Self {
            restart_wanted,
            _stop: stop,
        })
    }

    /// One round of checkpoints; what the last one found. Once the WAL is past `restart_at`
    /// frames, it checkpoints again while the frames written during the last checkpoint (its
    /// `fsync`s take milliseconds) are many, so that the writer's own checkpoint, which it
    /// waits for, has little left to copy and sync.
    fn pass(conn: &mut Conn, restart_at: i64) -> Result<Option<WalState>> {
        let mut last = backend::checkpoint(conn)?;
        for _ in 0..4 {
            match last {
                Some(wal) if wal.frames >= restart_at && wal.all_copied() => {
                    let next = backend::checkpoint(conn)?;
                    let written = next.map_or(0, |n| n.frames - wal.frames);
                    last = next;
                    if written < Self::SMALL_TAIL {
                        break;
                    }
                }
                _ => break,
            }
        }
        Ok(last)
    }

    /// `fsync`s the database file after a round copied pages into it.
    ///
    /// SQLite's own checkpoint syncs the database file only when it copied the whole WAL,
    /// which a checkpoint beside a busy writer never does. The copied pages then stay dirty in
    /// the kernel's cache (it writes them back after 30 s by default) until the writer's last
    /// checkpoint before the WAL starts over, whose `fsync` then waited for all of them: 15 ms
    /// after a few seconds of writes, 50–90 ms after twenty, while every request waited. Synced
    /// here, off the writer's path, the writer's `fsync` finds little left to write. A failure
    /// only costs that: SQLite still syncs before the WAL starts over.
    fn sync_database_file(url: &DatabaseUrl) {
        let DatabaseUrl::Sqlite(path) = url else {
            return;
        };
        let result = sync_handle(Path::new(path)).and_then(|file| file.sync_data());
        if let Err(e) = result {
            log::debug!("syncing {path} after a checkpoint: {e}");
        }
    }
}

/// The database file at `path`, opened once per process and never closed, for
/// [`Checkpointer::sync_database_file`].
///
/// Never closed because closing any descriptor of a file releases every POSIX lock the process
/// holds on it, SQLite's own included; SQLite's unix VFS never closes one of its descriptors
/// while the process holds a lock on the file, and this one it does not know about. One
/// descriptor per database file for the life of the process.
fn sync_handle(path: &Path) -> std::io::Result<&'static std::fs::File> {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::sync::{Mutex, OnceLock};
    static FILES: OnceLock<Mutex<HashMap<PathBuf, &'static std::fs::File>>> = OnceLock::new();
    let path = std::fs::canonicalize(path)?;
    let mut files = FILES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(file) = files.get(&path) {
        return Ok(file);
    }
    // `fsync` needs write access on Windows, not on Unix.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(cfg!(windows))
        .open(&path)?;
    let file: &'static std::fs::File = Box::leak(Box::new(file));
    files.insert(path, file);
    Ok(file)
}

fn migrations(conn: &Conn) -> EmbeddedMigrations {
    match conn {
        Conn::Pg(_) => POSTGRES_MIGRATIONS,
        Conn::Sqlite(_) => SQLITE_MIGRATIONS,
    }
}

fn migration_error(e: impl fmt::Display) -> StoreError {
    StoreError::Migration(e.to_string())
}

/// Applies the pending embedded migrations of the connection's backend, holding the backend's
/// migration lock so that processes starting at once do not collide. Returns the versions
/// applied.
pub fn run_migrations(conn: &mut Conn) -> Result<Vec<String>> {
    let set = migrations(conn);
    backend::with_migration_lock(conn, |conn| {
        let applied: Vec<String> = conn
            .run_pending_migrations(set)
            .map_err(migration_error)?
            .iter()
            .map(ToString::to_string)
            .collect();
        if !applied.is_empty() {
            log::info!("applied migrations: {}", applied.join(", "));
        }
        Ok(applied)
    })
}

/// The names of the embedded migrations not yet applied. Reads only: it works on a database
/// that may not be written, and leaves an empty one empty (diesel's own harness would create
/// its table of applied migrations first).
pub fn pending_migrations(conn: &mut Conn) -> Result<Vec<String>> {
    #[derive(diesel::QueryableByName)]
    struct Applied {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let applied: Vec<String> = if backend::migrations_table_exists(conn)? {
        diesel::RunQueryDsl::load::<Applied>(
            diesel::sql_query("SELECT version FROM __diesel_schema_migrations"),
            conn,
        )?
        .into_iter()
        .map(|a| a.version)
        .collect()
    } else {
        Vec::new()
    };
    let embedded = MigrationSource::<diesel::pg::Pg>::migrations(&migrations(conn))
        .map_err(migration_error)?;
    Ok(embedded
        .iter()
        .filter(|m| !applied.contains(&m.name().version().to_string()))
        .map(|m| m.name().to_string())
        .collect())
}

/// An error unless every embedded migration is applied (for programs that must not migrate).
pub fn require_migrated(conn: &mut Conn) -> Result<()> {
    let pending = pending_migrations(conn)?;
    if pending.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Migration(format!(
            "the database schema is missing or out of date ({} pending: {}); start api-server once to create it",
            pending.len(),
            pending.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::sync_handle;

    #[test]
    fn a_database_file_gets_one_sync_handle_whatever_the_path_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        std::fs::write(&path, b"").unwrap();
        let first = sync_handle(&path).unwrap();
        let again = sync_handle(&dir.path().join(".").join("a.db")).unwrap();
        assert!(std::ptr::eq(first, again), "a second descriptor was opened");
        first.sync_data().unwrap();
        assert!(sync_handle(&dir.path().join("missing.db")).is_err());
    }
}
