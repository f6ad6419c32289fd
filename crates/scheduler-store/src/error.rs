//! The store's error type. Its variants are the answers an API maps to status codes.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use thiserror::Error;

/// Why a store operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// No row of this kind with this id (`kind` is `account`, `clip`, `publish log`).
    #[error("{kind} not found: {id}")]
    NotFound {
        /// What was looked up.
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The request conflicts with the current state: an id already taken, a log that is no
    /// longer `scheduled`, an idempotency key stored by a concurrent request.
    #[error("{0}")]
    Conflict(String),
    /// A business rejection, with the contract's reason text (`Clip not found: <id>`,
    /// `Platform mismatch: …`, the planner's rejections, an invalid platform or time zone).
    #[error("{0}")]
    Rejected(String),
    /// The database URL is not one the store understands.
    #[error("{0}")]
    InvalidUrl(String),
    /// A SQLite file that should exist does not (the tick-runner never creates one).
    #[error("database file not found: {0}")]
    DatabaseFileNotFound(String),
    /// A connection could not be opened; the message carries the backend's cause.
    #[error("cannot connect to {target}: {cause}")]
    Connect {
        /// The database, without credentials.
        target: String,
        /// What the backend said.
        cause: String,
    },
    /// No connection from the pool (every connection busy or the database unreachable).
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    /// Running or checking the migrations failed, or some are still pending.
    #[error("migrations: {0}")]
    Migration(String),
    /// A stored value the store cannot read back (a hand-edited row, say).
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
}

impl StoreError {
    pub(crate) fn not_found(kind: &'static str, id: &str) -> Self {
        Self::NotFound {
            kind,
            id: id.to_owned(),
        }
    }

    /// A duplicate key becomes [`StoreError::Conflict`] with `message`; other errors stay.
    pub(crate) fn on_duplicate(
        message: impl FnOnce() -> String,
    ) -> impl FnOnce(DieselError) -> Self {
        |e| match e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                Self::Conflict(message())
            }
            other => other.into(),
        }
    }
}

/// A store result.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
