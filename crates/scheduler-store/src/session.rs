//! Opening one connection with the session settings the store relies on, per backend.
//!
//! The backend is chosen from the URL's scheme, and each backend's own `establish` opens the
//! connection, so a failure carries the real cause ("connection refused", "unable to open
//! database file") instead of the derived multi-connection's generic error.

use std::path::Path;

use diesel::connection::{Connection, SimpleConnection};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sql_types::Text;
use diesel::sqlite::SqliteConnection;

use crate::conn::{write_transaction, Conn};
use crate::error::{Result, StoreError};
use crate::url::DatabaseUrl;

/// How long a SQLite connection waits for the write lock before failing.
pub(crate) const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

/// Opens one connection, ready for use. With `create_if_missing` false, a SQLite file that
/// does not exist is an error ([`StoreError::DatabaseFileNotFound`]) instead of a new empty
/// database.
pub fn connect(url: &DatabaseUrl, create_if_missing: bool) -> Result<Conn> {
    connect_session(url, create_if_missing, false)
}

/// [`connect`], with a session that refuses every write when `read_only`.
pub(crate) fn connect_session(
    url: &DatabaseUrl,
    create_if_missing: bool,
    read_only: bool,
) -> Result<Conn> {
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
    prepare_session(&mut conn, read_only)?;
    Ok(conn)
}

/// Settings every connection needs, applied when it is opened.
///
/// PostgreSQL: `timestamptz` columns are declared `Timestamp` in [`crate::schema`], so they are
/// read and written as UTC only when the session time zone is UTC.
///
/// SQLite: the busy timeout, foreign keys, `synchronous = NORMAL` (durable with WAL), and
/// `temp_store = MEMORY`, which keeps the savepoint journal in memory: every page a savepoint
/// changes is copied there first, and a group commit holds one savepoint per request, whose
/// copies spilled to a temporary file past 64 KiB. And the tick's SQL functions
/// ([`crate::tick`]).
///
/// A read-only session refuses every write: `default_transaction_read_only` on PostgreSQL,
/// `query_only` on SQLite.
fn prepare_session(conn: &mut Conn, read_only: bool) -> QueryResult<()> {
    match conn {
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
            crate::tick::register_sqlite_functions(c)
        }
    }
}

#[derive(QueryableByName)]
struct Value {
    #[diesel(sql_type = Text)]
    value: String,
}

/// An error unless the database takes writes: a SQLite file this process may only read (SQLite
/// then opens it read-only without a word, and every write fails), or a PostgreSQL server in
/// read-only mode (a standby). SQLite: rewrites the header's `user_version` with its own value
/// in a transaction rolled back, the smallest write there is.
pub(crate) fn check_writable(conn: &mut Conn) -> Result<()> {
    match conn {
        Conn::Pg(c) => {
            let read_only =
                diesel::sql_query("SELECT current_setting('transaction_read_only') AS value")
                    .get_result::<Value>(c)?;
            if read_only.value == "on" {
                return Err(StoreError::ReadOnly(
                    "the server accepts only reads".to_owned(),
                ));
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
                Err(DieselError::DatabaseError(_, info))
                    if info.message().contains("readonly database") =>
                {
                    Err(StoreError::ReadOnly(info.message().to_owned()))
                }
                Err(other) => Err(other.into()),
            }
        }
    }
}
