//! SQLite's write-ahead log: WAL mode, and the background thread that copies the WAL into
//! the database file so that no commit waits for a checkpoint.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::SqliteConnection;

use crate::conn::Conn;
use crate::error::{Result, StoreError};
use crate::session::{connect, SQLITE_BUSY_TIMEOUT_MS};
use crate::url::DatabaseUrl;

/// How many WAL pages a pool connection's commit lets accumulate before it checkpoints by
/// itself (about 160 MiB; SQLite's default is 1,000). The [`Checkpointer`] normally
/// checkpoints long before, and the writer starts the WAL over at
/// [`crate::OpenOptions::wal_restart_pages`].
pub(crate) const AUTOCHECKPOINT_PAGES: u32 = 40_000;

/// Puts the database in WAL mode, once, before the pool opens its connections.
///
/// Switching a file to WAL needs it to itself, and SQLite answers "database is locked" at
/// once, without its busy handler, when another process holds it (several servers starting
/// together on a new file). So a file already in WAL is left alone, and the switch is retried
/// until the busy timeout has passed.
pub(crate) fn use_wal(c: &mut SqliteConnection) -> QueryResult<()> {
    #[derive(QueryableByName)]
    struct JournalMode {
        #[diesel(sql_type = Text)]
        journal_mode: String,
    }
    let deadline = std::time::Instant::now() + Duration::from_millis(SQLITE_BUSY_TIMEOUT_MS.into());
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
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

/// Leaves checkpoints to the [`Checkpointer`] (see [`AUTOCHECKPOINT_PAGES`]).
pub(crate) fn leave_checkpoints_to_checkpointer(c: &mut SqliteConnection) -> QueryResult<()> {
    c.batch_execute(&format!(
        "PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}"
    ))
}

/// What a checkpoint found in the WAL: `frames` in it, `copied` of them in the database file.
#[derive(Debug, Clone, Copy, QueryableByName)]
struct WalState {
    #[diesel(sql_type = BigInt, column_name = log)]
    frames: i64,
    #[diesel(sql_type = BigInt, column_name = checkpointed)]
    copied: i64,
}

impl WalState {
    /// Every frame is in the database file: the next writer may start the WAL over. False when
    /// the checkpoint did not run because another one held the checkpoint lock (SQLite then
    /// answers -1 for both counts).
    fn all_copied(&self) -> bool {
        self.frames >= 0 && self.copied == self.frames
    }
}

/// Copies what it can of the WAL into the database file without waiting for anyone
/// (`PRAGMA wal_checkpoint(PASSIVE)`).
fn checkpoint(c: &mut SqliteConnection) -> QueryResult<WalState> {
    diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result(c)
}

/// SQLite: a thread that copies the WAL into the database file every
/// [`Checkpointer::EVERY`] with a passive checkpoint, which never blocks readers or the writer.
///
/// Left to SQLite, the connection whose commit grows the WAL past 1,000 pages checkpoints it
/// inside that commit, `fsync`s included, and the writer and every request waiting for it
/// stand still meanwhile (17% of the api-server's time went to I/O wait under load). Here the
/// copying and its `fsync`s happen on this thread. Only a writer can start the WAL over from its
/// beginning, and only when all of it was copied: when this thread finds the WAL past
/// [`crate::OpenOptions::wal_restart_pages`] frames and copied, it asks for a last checkpoint on
/// the writer connection ([`Checkpointer::finish`]), which has only the frames of the last
/// moments left to copy; the next write transaction then starts the WAL over. The pool's
/// connections checkpoint by themselves only past [`AUTOCHECKPOINT_PAGES`], a safety net.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    /// Set by the thread, taken by [`Checkpointer::finish`].
    restart_wanted: Arc<AtomicBool>,
    /// The database, for the log.
    path: String,
    /// Dropped with the last `Db`: the thread sees the channel closed and ends.
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    const EVERY: Duration = Duration::from_millis(100);
    /// Frames written during a checkpoint that are few enough for the writer to copy.
    const SMALL_TAIL: i64 = 64;

    /// Starts the thread for the SQLite file at `path`; it asks for the WAL to start over past
    /// `restart_at` frames.
    pub(crate) fn start(path: &str, restart_at: u32) -> Result<Self> {
        // Well under the pool connections' own checkpoint, the safety net.
        let restart_at = i64::from(restart_at.clamp(1, AUTOCHECKPOINT_PAGES / 2));
        let (stop, stopped) = mpsc::channel::<()>();
        let restart_wanted = Arc::new(AtomicBool::new(false));
        let (url, wanted) = (
            DatabaseUrl::Sqlite(path.to_owned()),
            Arc::clone(&restart_wanted),
        );
        std::thread::Builder::new()
            .name("wal-checkpoint".to_owned())
            .spawn(move || {
                let mut conn = None;
                let mut synced = -1;
                let mut failing: Option<String> = None;
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(Self::EVERY) {
                    let result = match &mut conn {
                        Some(Conn::Sqlite(c)) => Self::pass(c, restart_at).map(Some),
                        _ => connect(&url, false).map(|c| {
                            conn = Some(c);
                            None
                        }),
                    };
                    match result {
                        Ok(Some(wal)) => {
                            if wal.copied > 0 && wal.copied != synced {
                                sync_database_file(&url);
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
            path: path.to_owned(),
            _stop: stop,
        })
    }

    /// If the background thread asked for it, checkpoints on `writer` (the writer connection,
    /// outside any transaction), so that the next write transaction starts the WAL over. Cheap:
    /// the background thread copied all but the last frames. A failure is logged; the WAL just
    /// grows until the next try.
    pub(crate) fn finish(&self, writer: &mut Conn) {
        let Conn::Sqlite(c) = writer else {
            return;
        };
        if self.restart_wanted.swap(false, Ordering::Relaxed) {
            match checkpoint(c) {
                Ok(wal) if wal.all_copied() => {}
                // The background thread held the checkpoint lock (it may have begun its next
                // round meanwhile), or a reader kept frames from being copied: try again after
                // the next transaction rather than wait for the next request.
                Ok(_) => self.restart_wanted.store(true, Ordering::Relaxed),
                Err(e) => log::warn!("WAL checkpoint of {}: {e}", self.path),
            }
        }
    }

    /// One round of checkpoints; what the last one found. Once the WAL is past `restart_at`
    /// frames, it checkpoints again while the frames written during the last checkpoint (its
    /// `fsync`s take milliseconds) are many, so that the writer's own checkpoint, which it
    /// waits for, has little left to copy and sync.
    fn pass(conn: &mut SqliteConnection, restart_at: i64) -> Result<WalState> {
        let mut last = checkpoint(conn)?;
        for _ in 0..4 {
            if last.frames < restart_at || !last.all_copied() {
                break;
            }
            let next = checkpoint(conn)?;
            let written = next.frames - last.frames;
            last = next;
            if written < Self::SMALL_TAIL {
                break;
            }
        }
        Ok(last)
    }
}

/// The database file at `path`, opened once per process and never closed, for
/// [`sync_database_file`].
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
