//! A fresh database per test.

use std::fmt;

use diesel::prelude::*;
use diesel::PgConnection;
use scheduler_store::{connect, run_migrations, Conn, DatabaseUrl};

/// A database backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        })
    }
}

/// Whether `TEST_DATABASE_URL` is set (the PostgreSQL half runs).
pub fn postgres_configured() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.trim().is_empty())
}

/// The backends this run covers: SQLite always, PostgreSQL when `TEST_DATABASE_URL` is set.
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    if postgres_configured() {
        all.push(Backend::Postgres);
    }
    all
}

/// A fresh, empty database (not migrated; the api-server migrates at start, or call
/// [`TestDb::migrate`]). Dropping it removes the SQLite file's directory or drops the
/// PostgreSQL database `WITH (FORCE)`.
pub struct TestDb {
    /// Which backend.
    pub backend: Backend,
    /// The URL to give the binaries (`--database-url`).
    pub url: String,
    dir: Option<tempfile::TempDir>,
    pg: Option<PgDatabase>,
}

impl fmt::Debug for TestDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestDb")
            .field("backend", &self.backend)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl TestDb {
    /// A new database on `backend`. Panics for PostgreSQL without `TEST_DATABASE_URL`.
    pub fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite(),
            Backend::Postgres => Self::postgres().expect("TEST_DATABASE_URL is set"),
        }
    }

    /// A SQLite file (not yet created) in a new temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = dir
            .path()
            .join("test.db")
            .to_str()
            .expect("a UTF-8 temporary path")
            .to_owned();
        Self {
            backend: Backend::Sqlite,
            url,
            dir: Some(dir),
            pg: None,
        }
    }

    /// A new PostgreSQL database, or `None` without `TEST_DATABASE_URL`.
    pub fn postgres() -> Option<Self> {
        let pg = PgDatabase::create("e2e_test")?;
        Some(Self {
            backend: Backend::Postgres,
            url: pg.url().to_owned(),
            dir: None,
            pg: Some(pg),
        })
    }

    /// The parsed URL.
    pub fn database_url(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&self.url).expect("a valid test database URL")
    }

    /// A new connection (creating the SQLite file if needed), with the store's session
    /// settings.
    pub fn conn(&self) -> Conn {
        connect(&self.database_url(), true).expect("a connection to the test database")
    }

    /// Applies the embedded migrations.
    pub fn migrate(&self) {
        run_migrations(&mut self.conn()).expect("the migrations apply");
    }

    /// The PostgreSQL database's name (`None` on SQLite).
    pub fn pg_name(&self) -> Option<&str> {
        self.pg.as_ref().map(PgDatabase::name)
    }

    /// The SQLite file's directory (`None` on PostgreSQL).
    pub fn dir(&self) -> Option<&std::path::Path> {
        self.dir.as_ref().map(tempfile::TempDir::path)
    }
}

/// A new, empty PostgreSQL database `<prefix>_<uuid>` (not migrated) on the server of
/// `TEST_DATABASE_URL`, dropped `WITH (FORCE)` with its value. [`TestDb`] uses the prefix
/// `e2e_test`; the other suites name theirs (`sched_test`, `api_test`, …).
pub struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl fmt::Debug for PgDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgDatabase")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl PgDatabase {
    /// Creates the database, or returns `None` without `TEST_DATABASE_URL`. Panics when the
    /// server refuses.
    pub fn create(prefix: &str) -> Option<Self> {
        if !postgres_configured() {
            return None;
        }
        let admin_url = std::env::var("TEST_DATABASE_URL").ok()?;
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&admin_url)
            .unwrap_or_else(|e| panic!("cannot connect to TEST_DATABASE_URL: {e}"));
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        let (base, query) = match admin_url.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (admin_url.as_str(), String::new()),
        };
        let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
        let url = format!("{server}/{name}{query}");
        Some(Self {
            admin_url,
            name,
            url,
        })
    }

    /// The database's URL (`TEST_DATABASE_URL` with the database name replaced).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}
