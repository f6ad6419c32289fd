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
    /// The id is already taken (or an idempotency key was stored by a concurrent request).
    #[error("{0}")]
    Conflict(String),
    /// The row is not in a state that allows the change: a log that is no longer `scheduled`.
    #[error("{0}")]
    InvalidState(String),
    /// A report about a claim whose lease is no longer its token's: it expired, the log
    /// moved on, or another claim took it.
    #[error("{0}")]
    LeaseLost(String),
    /// An idempotency key already used with another request body.
    #[error("Idempotency-Key {0} was already used with a different request body")]
    KeyReused(String),
    /// A business rejection: its kind and the contract's reason text (`Clip not found: <id>`,
    /// `Platform mismatch: …`, the planner's rejections, an invalid platform or time zone).
    #[error("{0}")]
    Rejected(Refusal),
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
    /// The database cannot take the request now (too many writes waiting, the writer gone, or
    /// the failure of a group commit reported to each of its jobs); a retry may succeed.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database cannot be written (a SQLite file this process may only read, a PostgreSQL
    /// standby); the message carries the cause.
    #[error("the database cannot be written: {0}")]
    ReadOnly(String),
    /// Running or checking the migrations failed, or some are still pending.
    #[error("migrations: {0}")]
    Migration(String),
    /// A stored value the store cannot read back (a hand-edited row, say), or a database that
    /// broke an invariant the store relies on.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// A bug: a database task panicked or ended without an answer.
    #[error("internal error: {0}")]
    Internal(String),
    /// The connection to the database broke during the operation (the server closed it, the
    /// network dropped it). Nothing was committed, unless the break came during the commit
    /// itself, which no client can tell: a retry is safe with an idempotency key.
    #[error("the database connection was lost: {0}")]
    ConnectionLost(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(diesel::result::Error),
}

/// What kind of business rejection a [`Refusal`] is: what a client branches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    /// The clip does not exist.
    ClipNotFound,
    /// The account does not exist.
    AccountNotFound,
    /// The account is on another platform.
    PlatformMismatch,
    /// The platform has no rules.
    UnknownPlatform,
    /// No slot fits: not before the window end, within the horizon or the supported years.
    NoSlot,
    /// The requested time is too far in the past.
    PastTime,
    /// A time outside the supported years.
    OutOfRange,
    /// A field's value is not acceptable (an id, a time zone, a name).
    InvalidField,
}

/// A business rejection: its kind and the reason a person reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Refusal {
    /// What kind of rejection.
    pub kind: RefusalKind,
    /// Why, in the contract's words.
    pub reason: String,
}

impl Refusal {
    /// A rejection of `kind`, for `reason`.
    pub fn new(kind: RefusalKind, reason: impl Into<String>) -> Self {
        Self {
            kind,
            reason: reason.into(),
        }
    }
}

impl From<scheduler_core::Rejection> for Refusal {
    fn from(rejection: scheduler_core::Rejection) -> Self {
        use scheduler_core::Rejection as R;
        let kind = match &rejection {
            R::UnknownPlatform(_) => RefusalKind::UnknownPlatform,
            R::InThePast(_) => RefusalKind::PastTime,
            R::AfterWindowEnd(_)
            | R::BeforeNextOccurrence(_)
            | R::BeyondHorizon(_)
            | R::NoFreeSlot { .. }
            | R::BeyondSupportedRange(_) => RefusalKind::NoSlot,
            R::OutOfRange { .. } => RefusalKind::OutOfRange,
        };
        Self::new(kind, rejection.to_string())
    }
}

impl From<Refusal> for StoreError {
    fn from(refusal: Refusal) -> Self {
        Self::Rejected(refusal)
    }
}

impl From<scheduler_core::Rejection> for StoreError {
    fn from(rejection: scheduler_core::Rejection) -> Self {
        Self::Rejected(rejection.into())
    }
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => Self::ConnectionLost(info.message().to_owned()),
            DieselError::BrokenTransactionManager => {
                Self::ConnectionLost("the transaction state was lost".to_owned())
            }
            // The database stopped taking writes after it was opened: a PostgreSQL server
            // that became a standby, a SQLite file made read-only.
            DieselError::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, info) => {
                Self::ReadOnly(info.message().to_owned())
            }
            DieselError::DatabaseError(_, info)
                if info
                    .message()
                    .contains("attempt to write a readonly database") =>
            {
                Self::ReadOnly(info.message().to_owned())
            }
            other => Self::Database(other),
        }
    }
}

impl StoreError {
    pub(crate) fn not_found(kind: &'static str, id: &str) -> Self {
        Self::NotFound {
            kind,
            id: id.to_owned(),
        }
    }

    /// The same error again, for each job of a failed group commit (the database error's kind
    /// and message are kept; a pool error becomes [`StoreError::Unavailable`]).
    pub(crate) fn replicate(&self) -> Self {
        match self {
            Self::NotFound { kind, id } => Self::NotFound {
                kind,
                id: id.clone(),
            },
            Self::Conflict(m) => Self::Conflict(m.clone()),
            Self::InvalidState(m) => Self::InvalidState(m.clone()),
            Self::LeaseLost(m) => Self::LeaseLost(m.clone()),
            Self::Rejected(m) => Self::Rejected(m.clone()),
            Self::KeyReused(m) => Self::KeyReused(m.clone()),
            Self::InvalidUrl(m) => Self::InvalidUrl(m.clone()),
            Self::DatabaseFileNotFound(m) => Self::DatabaseFileNotFound(m.clone()),
            Self::Connect { target, cause } => Self::Connect {
                target: target.clone(),
                cause: cause.clone(),
            },
            Self::Pool(e) => Self::Unavailable(e.to_string()),
            Self::Unavailable(m) => Self::Unavailable(m.clone()),
            Self::ReadOnly(m) => Self::ReadOnly(m.clone()),
            Self::Migration(m) => Self::Migration(m.clone()),
            Self::ConnectionLost(m) => Self::ConnectionLost(m.clone()),
            Self::Internal(m) => Self::Internal(m.clone()),
            Self::Corrupt(m) => Self::Corrupt(m.clone()),
            Self::Database(DieselError::DatabaseError(kind, info)) => Self::Database(
                DieselError::DatabaseError(*kind, Box::new(info.message().to_owned())),
            ),
            Self::Database(e) => {
                Self::Database(DieselError::QueryBuilderError(e.to_string().into()))
            }
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
