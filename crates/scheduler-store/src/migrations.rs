//! The embedded migrations of each backend: applying them under a lock, and checking, by
//! reading only, that none is pending.

use std::fmt;

use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::conn::{write_transaction, Conn};
use crate::error::{Result, StoreError};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// The session-level advisory lock key held while migrating PostgreSQL (`"sched-mg"`).
const LOCK_KEY: i64 = 0x7363_6865_642d_6d67;

fn migrations(conn: &Conn) -> EmbeddedMigrations {
    match conn {
        Conn::Pg(_) => POSTGRES_MIGRATIONS,
        Conn::Sqlite(_) => SQLITE_MIGRATIONS,
    }
}

fn migration_error(e: impl fmt::Display) -> StoreError {
    StoreError::Migration(e.to_string())
}

/// The migration that creates the engagement history, which the store fills from the posts
/// published before it (a time zone's rules are not in SQLite's SQL).
const ENGAGEMENT_HOURS: &str = "20261206000008";

/// Applies the pending embedded migrations of the connection's backend, and the store's own
/// steps that go with them, all in one transaction, holding the backend's migration lock so
/// that processes starting at once do not collide: a session advisory lock on PostgreSQL
/// (released even when a migration fails), `BEGIN IMMEDIATE` on SQLite. Returns the versions
/// applied.
pub fn run_migrations(conn: &mut Conn) -> Result<Vec<String>> {
    let set = migrations(conn);
    let run = |conn: &mut Conn| -> Result<Vec<String>> {
        let applied: Vec<String> = conn
            .run_pending_migrations(set)
            .map_err(migration_error)?
            .iter()
            .map(ToString::to_string)
            .collect();
        if applied.iter().any(|v| v == ENGAGEMENT_HOURS) {
            crate::engagement::recount_engagement(conn)?;
        }
        if !applied.is_empty() {
            log::info!("applied migrations: {}", applied.join(", "));
        }
        Ok(applied)
    };
    match conn {
        Conn::Pg(c) => {
            diesel::sql_query("SELECT pg_advisory_lock($1)")
                .bind::<BigInt, _>(LOCK_KEY)
                .execute(c)?;
            let result = write_transaction(conn, run);
            if let Conn::Pg(c) = conn {
                diesel::sql_query("SELECT pg_advisory_unlock($1)")
                    .bind::<BigInt, _>(LOCK_KEY)
                    .execute(c)?;
            }
            result
        }
        Conn::Sqlite(_) => write_transaction(conn, run),
    }
}

/// The names of the embedded migrations not yet applied. Reads only: it works on a database
/// that may not be written, and leaves an empty one empty (diesel's own harness would create
/// its table of applied migrations first).
pub fn pending_migrations(conn: &mut Conn) -> Result<Vec<String>> {
    #[derive(QueryableByName)]
    struct Applied {
        #[diesel(sql_type = Text)]
        version: String,
    }
    let applied: Vec<String> = if table_exists(conn)? {
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
            .load::<Applied>(conn)?
            .into_iter()
            .map(|a| a.version)
            .collect()
    } else {
        Vec::new()
    };
    // The versions are the folder names, whatever the backend type the source is read as.
    let embedded = MigrationSource::<diesel::pg::Pg>::migrations(&migrations(conn))
        .map_err(migration_error)?;
    Ok(embedded
        .iter()
        .filter(|m| !applied.contains(&m.name().version().to_string()))
        .map(|m| m.name().to_string())
        .collect())
}

/// Whether diesel's table of applied migrations exists.
fn table_exists(conn: &mut Conn) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Exists {
        #[diesel(sql_type = Bool)]
        exists: bool,
    }
    let query = match conn {
        Conn::Pg(_) => "SELECT to_regclass('__diesel_schema_migrations') IS NOT NULL AS exists",
        Conn::Sqlite(_) => {
            "SELECT EXISTS (SELECT 1 FROM sqlite_master \
             WHERE type = 'table' AND name = '__diesel_schema_migrations') AS \"exists\""
        }
    };
    Ok(diesel::sql_query(query).get_result::<Exists>(conn)?.exists)
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
