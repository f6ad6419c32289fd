//! Shared test support for the publishing scheduler's test suites.
//!
//! - [`TestDb`]: a fresh database per test, a temporary SQLite file or a new PostgreSQL
//!   database `e2e_test_<uuid>` (from `TEST_DATABASE_URL`), removed on drop; [`backends`]
//!   lists the backends this run covers; [`PgDatabase`]: just the PostgreSQL database, with a
//!   name prefix of the suite's choosing.
//! - [`binary`]: the path of a workspace binary built by cargo (`target/<profile>/NAME`).
//! - [`Process`]: a started binary, its stdout lines on a channel and its stderr collected.
//! - [`Proxy`]: a TCP proxy the test controls, to cut the link to PostgreSQL without touching
//!   the server.
//! - [`unprivileged`]: a binary run as a user whom file permissions bind (not root), with
//!   [`make_read_only`].

mod binaries;
mod db;
mod process;
mod proxy;
#[cfg(unix)]
mod unprivileged;

pub use binaries::binary;
pub use db::{backends, postgres_configured, Backend, PgDatabase, TestDb};
pub use process::{collect_stderr, Process};
pub use proxy::Proxy;
#[cfg(unix)]
pub use unprivileged::{make_read_only, unprivileged};

/// Runs each test body on SQLite and, when configured, on PostgreSQL: `fn name(db) { … }`
/// becomes the tests `name::sqlite` and `name::postgres`, with `db` a `&TestDb` from the
/// calling suite's own `crate::support::sqlite()` and `crate::support::postgres()` (the latter
/// `None` without `TEST_DATABASE_URL`).
// `crate` on purpose: the databases come from the calling suite's `support` module.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! both_backends {
    ($(fn $name:ident($db:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sqlite() {
                let $db = &crate::support::sqlite();
                $body
            }

            #[test]
            fn postgres() {
                if let Some(db) = crate::support::postgres() {
                    let $db = &db;
                    $body
                }
            }
        }
    )*};
}
