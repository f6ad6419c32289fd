//! A connection to either backend, and the transactions every write runs in.

use std::fmt;

use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::result::Error as DieselError;
use diesel::sqlite::SqliteConnection;

use crate::error::StoreError;

/// Runs `$body` with `$c` bound to the backend's own connection inside a [`Conn`]: the same
/// diesel query, compiled once per backend.
///
/// For the statements of the hot paths. Through `MultiConnection` diesel renders the SQL text
/// of every query and binds its values through an extra layer to find the prepared statement;
/// on the backend's own connection the statement is found by the query's type. Not a place
/// for SQL that differs between backends: match on the variant next to the operation for that.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::conn::Conn::Pg($c) => $body,
            $crate::conn::Conn::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// A connection to either backend. Every store function takes one; the code path is shared,
/// and each operation matches on the variant where the backends differ. Open it with
/// [`crate::connect`] (or take it from a [`crate::Db`]): that applies the session settings the
/// store relies on.
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

type Manager = <Conn as Connection>::TransactionManager;

/// How many transactions and savepoints diesel has open on `conn` (`None` outside any, or
/// when it lost track).
pub(crate) fn transaction_depth(conn: &mut Conn) -> Option<u32> {
    match Manager::transaction_manager_status_mut(conn).transaction_depth() {
        Ok(depth) => depth.map(u32::from),
        Err(_) => None,
    }
}

/// Runs `f` as one write: outside a transaction, in a new write transaction, committed if `f`
/// succeeds and rolled back if not; inside one, as part of it (an error of `f` then fails the
/// enclosing transaction, which the caller rolls back).
///
/// The transaction takes SQLite's write lock before its first read (`BEGIN IMMEDIATE`: a
/// deferred transaction that read first cannot take the lock later and fails with "database is
/// locked" despite the busy timeout); on PostgreSQL it is a plain `BEGIN`. Joining an enclosing
/// transaction costs nothing, so a caller may own the transaction and call several store
/// functions in it ([`crate::Db::write`] does). A caller that goes on after an error inside
/// the transaction wraps the failing part in [`savepoint`].
pub fn write_transaction<T, E>(
    conn: &mut Conn,
    f: impl FnOnce(&mut Conn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<DieselError>,
{
    if transaction_depth(conn).is_some() {
        return f(conn);
    }
    match conn {
        Conn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        Conn::Pg(_) => Manager::begin_transaction(conn)?,
    }
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

/// Runs `f` so that its writes can be undone alone: inside a transaction, in a savepoint,
/// released if `f` succeeds and rolled back to if not, and the transaction goes on; outside
/// one, as [`write_transaction`].
pub fn savepoint<T, E>(conn: &mut Conn, f: impl FnOnce(&mut Conn) -> Result<T, E>) -> Result<T, E>
where
    E: From<DieselError>,
{
    if transaction_depth(conn).is_some() {
        conn.transaction(f)
    } else {
        write_transaction(conn, f)
    }
}

/// A closure's own error kept apart from the database errors of the transaction around it,
/// for code generic over the closure's error type.
pub(crate) enum JobError<E> {
    /// The closure failed.
    Job(E),
    /// The transaction or savepoint around it failed.
    Store(StoreError),
}

impl<E> From<DieselError> for JobError<E> {
    fn from(e: DieselError) -> Self {
        Self::Store(e.into())
    }
}

impl<E: From<StoreError>> JobError<E> {
    /// The error as the closure's type.
    pub(crate) fn into_inner(self) -> E {
        match self {
            Self::Job(e) => e,
            Self::Store(e) => E::from(e),
        }
    }
}
