//! Shared test support for the publishing scheduler's test suites.
//!
//! - [`TestDb`]: a fresh database per test, a temporary SQLite file or a new PostgreSQL
//!   database `e2e_test_<uuid>` (from `TEST_DATABASE_URL`), removed on drop; [`backends`]
//!   lists the backends this run covers; [`PgDatabase`]: just the PostgreSQL database, with a
//!   name prefix of the suite's choosing.
//! - [`binary`]: the path of a workspace binary built by cargo (`target/<profile>/NAME`).
//! - [`Proxy`]: a TCP proxy the test controls, to cut the link to PostgreSQL without touching
//!   the server.

mod binaries;
mod db;
mod proxy;

pub use binaries::binary;
pub use db::{backends, postgres_configured, Backend, PgDatabase, TestDb};
pub use proxy::Proxy;
