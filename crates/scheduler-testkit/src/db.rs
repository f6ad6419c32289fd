//! A fresh database per test.

use std::fmt;
use std::sync::OnceLock;

use diesel::prelude::*;
use diesel::PgConnection;
use scheduler_store::{connect, Conn, DatabaseUrl, Db, Mode, OpenOptions};

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

/// A fresh database per test: a temporary SQLite file (not yet created), or a new PostgreSQL
/// database `<prefix>_<uuid>` on the server of `TEST_DATABASE_URL`. Dropping it removes the
/// file's directory or drops the database `WITH (FORCE)`.
///
/// Empty until something opens it: [`TestDb::conn`] and [`TestDb::db`] migrate it on first use,
/// as a server would; a binary given [`TestDb::url`] may open it itself.
pub struct TestDb {
    /// Which backend.
    pub backend: Backend,
    /// The URL to give the binaries (`--database-url`).
    pub url: String,
    migrated: OnceLock<()>,
    db: OnceLock<Db>,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<PgDatabase>,
}

impl fmt::Debug for TestDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestDb")
            .field("backend", &self.backend)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Row counts of every table the API writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// `social_accounts`.
    pub accounts: i64,
    /// `clips`.
    pub clips: i64,
    /// `publish_logs`.
    pub logs: i64,
    /// `ledger_events`.
    pub events: i64,
    /// `idempotency_keys`.
    pub keys: i64,
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
            migrated: OnceLock::new(),
            db: OnceLock::new(),
            _dir: Some(dir),
            _pg: None,
        }
    }

    /// A new PostgreSQL database `test_<uuid>`, or `None` without `TEST_DATABASE_URL`.
    pub fn postgres() -> Option<Self> {
        let pg = PgDatabase::create("test")?;
        Some(Self {
            backend: Backend::Postgres,
            url: pg.url().to_owned(),
            migrated: OnceLock::new(),
            db: OnceLock::new(),
            _dir: None,
            _pg: Some(pg),
        })
    }

    /// Whether this is the PostgreSQL run.
    pub fn is_postgres(&self) -> bool {
        self.backend == Backend::Postgres
    }

    /// The parsed URL.
    pub fn database_url(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&self.url).expect("a valid test database URL")
    }

    /// Creates and migrates the database, once, as a server's start does (SQLite's WAL mode
    /// included).
    pub fn migrate(&self) {
        self.migrated.get_or_init(|| {
            drop(self.open(&OpenOptions {
                mode: Mode::Migrate,
                max_connections: 1,
                ..OpenOptions::default()
            }));
        });
    }

    /// A new connection to the database, migrated: for reading what a program wrote, or
    /// calling store functions directly. It starts no thread (unlike [`TestDb::db`]), so a
    /// test beside the binaries adds no checkpointing of its own.
    pub fn conn(&self) -> Conn {
        self.migrate();
        connect(&self.database_url(), false).expect("a connection to the test database")
    }

    /// A pool on the database, opened with [`Mode::Migrate`] on first use, with room for the
    /// concurrency tests' threads.
    pub fn db(&self) -> &Db {
        self.db.get_or_init(|| {
            self.open(&OpenOptions {
                mode: Mode::Migrate,
                max_connections: 10,
                ..OpenOptions::default()
            })
        })
    }

    /// Another pool on the database, opened with `options`.
    pub fn open(&self, options: &OpenOptions) -> Db {
        Db::open(&self.database_url(), options).expect("the test database opens")
    }

    /// The row counts of every table the API writes.
    pub fn counts(&self) -> Counts {
        use scheduler_store::schema::{
            clips, idempotency_keys, ledger_events, publish_logs, social_accounts,
        };
        let conn = &mut self.conn();
        Counts {
            accounts: social_accounts::table.count().get_result(conn).unwrap(),
            clips: clips::table.count().get_result(conn).unwrap(),
            logs: publish_logs::table.count().get_result(conn).unwrap(),
            events: ledger_events::table.count().get_result(conn).unwrap(),
            keys: idempotency_keys::table.count().get_result(conn).unwrap(),
        }
    }

    /// Drops the PostgreSQL database now, under whoever uses it (it "goes away").
    pub fn drop_postgres(&mut self) {
        self._pg.take().expect("a PostgreSQL database");
    }

    /// Ends a claimed log's lease (as if its worker had died long ago), bypassing the store.
    pub fn expire_lease(&self, log_id: &str) {
        use scheduler_store::schema::publish_logs::dsl as p;
        diesel::update(p::publish_logs.filter(p::id.eq(log_id)))
            .set(p::lease_expires_at.eq(chrono::DateTime::UNIX_EPOCH.naive_utc()))
            .execute(&mut self.conn())
            .unwrap();
    }

    /// Moves a log's time into the past (as if it had become due), bypassing the store.
    pub fn make_due(&self, log_id: &str) {
        let past = chrono::DateTime::parse_from_rfc3339("2020-01-01T20:00:00Z")
            .expect("a valid time")
            .to_utc();
        self.move_to(log_id, past);
    }

    /// Moves a log to `at` behind the store's back: a post of the past (the planner only
    /// schedules ahead), for a history.
    pub fn move_to(&self, log_id: &str, at: chrono::DateTime<chrono::Utc>) {
        use scheduler_store::schema::publish_logs::dsl as p;
        diesel::update(p::publish_logs.filter(p::id.eq(log_id)))
            .set(p::scheduled_for.eq(at.naive_utc()))
            .execute(&mut self.conn())
            .unwrap();
    }
}

/// A new, empty PostgreSQL database `<prefix>_<uuid>` (not migrated) on the server of
/// `TEST_DATABASE_URL`, dropped `WITH (FORCE)` with its value.
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
