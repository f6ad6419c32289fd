//! Database URLs: which backend, where, and how to show one without its password.

use std::fmt;

use crate::error::{Result, StoreError};

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
    /// `postgresql://…` (PostgreSQL). Any other scheme is an error, which never shows a
    /// password.
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
}

impl DatabaseUrl {
    /// What it is, for a log line: `SQLite database <path>` or `PostgreSQL database <url>`
    /// (without its password).
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(_) => format!("SQLite database {self}"),
            Self::Postgres(_) => format!("PostgreSQL database {self}"),
        }
    }
}

/// The path, or the URL without its password.
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
