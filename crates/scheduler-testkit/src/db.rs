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
        let admin_url = without_tls_on_loopback(&std::env::var("TEST_DATABASE_URL").ok()?);
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

/// `url` with `sslmode=disable` added when it names a server on this host (a loopback address
/// or a Unix socket) and no `sslmode` of its own.
///
/// libpq encrypts whenever the server offers TLS, and OpenSSL 3 then frees its state in an
/// `atexit` handler: a test binary whose last tests leave pool threads behind (r2d2 opens
/// connections on its own threads) died in that handler with SIGSEGV after every test had
/// passed, once in CI (`segfault … in libcrypto.so.3`; diesel issue 3441, r2d2 issue 137).
/// Without TLS on the test connections, OpenSSL is never started. A server elsewhere keeps the
/// URL's own settings.
fn without_tls_on_loopback(url: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let authority = base
        .split_once("://")
        .map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    let on_this_host = matches!(host, "" | "localhost" | "127.0.0.1" | "::1");
    let has_sslmode = query.split('&').any(|pair| pair.starts_with("sslmode="));
    match (on_this_host && !has_sslmode, query.is_empty()) {
        (false, _) => url.to_owned(),
        (true, true) => format!("{base}?sslmode=disable"),
        (true, false) => format!("{base}?{query}&sslmode=disable"),
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

#[cfg(test)]
mod tests {
    use super::without_tls_on_loopback;

    #[test]
    fn tls_is_turned_off_only_for_this_host_and_only_when_unset() {
        let check = |url: &str, expected: &str| {
            assert_eq!(without_tls_on_loopback(url), expected, "for {url}");
        };
        check(
            "postgres://postgres@127.0.0.1:5432/test",
            "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
        );
        check(
            "postgresql://u:p@localhost/db?connect_timeout=2",
            "postgresql://u:p@localhost/db?connect_timeout=2&sslmode=disable",
        );
        check(
            "postgres://[::1]:5433/db",
            "postgres://[::1]:5433/db?sslmode=disable",
        );
        check("postgres:///db", "postgres:///db?sslmode=disable");
        check(
            "postgres://127.0.0.1/db?sslmode=require",
            "postgres://127.0.0.1/db?sslmode=require",
        );
        check(
            "postgres://db.internal:5432/test",
            "postgres://db.internal:5432/test",
        );
        check(
            "postgres://u@10.0.0.5/test?x=1",
            "postgres://u@10.0.0.5/test?x=1",
        );
    }
}
