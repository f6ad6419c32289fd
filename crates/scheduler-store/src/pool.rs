//! The pool's connections: opened with their session settings, trusted until one is found
//! gone, and then each checked once before it is lent again.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use diesel::connection::{Connection, InstrumentationEvent};
use diesel::r2d2::R2D2Connection;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::conn::Conn;
use crate::error::{Result, StoreError};
use crate::session::connect_session;
use crate::url::DatabaseUrl;
use crate::wal;

/// Opens the pool's connections with their session settings, and decides when one must be
/// checked before it is lent.
///
/// A checkout does not ask the database whether the connection still works (`SELECT 1` would
/// be one more round trip on every request): a connection is trusted until a statement on it,
/// or on any other connection of the pool, fails because the connection is gone (its
/// instrumentation sees the error). That connection is then dropped, and the pool's epoch
/// moves on, so that every other connection is asked once before it is lent again: after a
/// database restart, the request that meets the first dead connection fails (503) and the
/// rest find live ones.
#[derive(Debug)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    read_only: bool,
    /// Moves on each time a connection of the pool is found gone.
    epoch: AtomicU64,
}

/// A connection of the pool; it derefs to [`Conn`].
pub struct PoolConn {
    conn: Conn,
    /// Set when a statement failed because the connection is gone.
    lost: Arc<AtomicBool>,
    /// The pool's epoch when the connection last answered.
    verified: u64,
}

impl fmt::Debug for PoolConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolConn")
            .field("lost", &self.lost.load(Ordering::Relaxed))
            .field("verified", &self.verified)
            .finish_non_exhaustive()
    }
}

impl Deref for PoolConn {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl DerefMut for PoolConn {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

/// Whether `error` says the connection is gone.
fn is_lost(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        )
    )
}

impl ConnectionManager {
    /// A manager of connections to `url`, read-only sessions if `read_only`.
    pub(crate) fn new(url: DatabaseUrl, read_only: bool) -> Self {
        Self {
            url,
            read_only,
            epoch: AtomicU64::new(0),
        }
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = PoolConn;
    type Error = StoreError;

    fn connect(&self) -> Result<PoolConn> {
        let verified = self.epoch.load(Ordering::Acquire);
        let mut conn = connect_session(&self.url, false, self.read_only)?;
        if let Conn::Sqlite(c) = &mut conn {
            wal::leave_checkpoints_to_checkpointer(c)?;
        }
        let lost = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&lost);
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::FinishQuery {
                error: Some(error), ..
            } = event
            {
                if is_lost(error) {
                    seen.store(true, Ordering::Release);
                }
            }
        });
        Ok(PoolConn {
            conn,
            lost,
            verified,
        })
    }

    fn is_valid(&self, conn: &mut PoolConn) -> Result<()> {
        let epoch = self.epoch.load(Ordering::Acquire);
        if conn.verified == epoch {
            return Ok(());
        }
        conn.conn.ping().map_err(StoreError::from)?;
        conn.verified = epoch;
        Ok(())
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        if conn.lost.load(Ordering::Acquire) {
            self.epoch.fetch_add(1, Ordering::AcqRel);
            return true;
        }
        std::thread::panicking() || conn.conn.is_broken()
    }
}

/// A connection borrowed from the pool; it derefs to [`Conn`].
pub type PooledConn = r2d2::PooledConnection<ConnectionManager>;
