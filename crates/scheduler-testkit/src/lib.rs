//! Shared test support for the publishing scheduler's test suites.
//!
//! - [`TestDb`]: a fresh database per test, a temporary SQLite file or a new PostgreSQL
//!   database `test_<uuid>` (from `TEST_DATABASE_URL`), removed on drop, with its row
//!   [`Counts`]; [`backends`] lists the backends this run covers; [`PgDatabase`]: just the
//!   PostgreSQL database, with a name prefix of the caller's choosing.
//! - [`insert_logs`], [`insert_due_logs`]: publish logs written straight into the tables.
//! - [`Response`]: an HTTP answer as the tests read it.
//! - [`binary`]: the path of a workspace binary built by cargo (`target/<profile>/NAME`).
//! - [`Process`]: a started binary, its stdout lines on a channel and its stderr collected.
//! - [`FakePlatform`]: a social platform behind a publisher adapter, answering as told and
//!   recording every post.
//! - [`Proxy`]: a TCP proxy the test controls, to cut the link to PostgreSQL without touching
//!   the server.
//! - [`unprivileged`]: a binary run as a user whom file permissions bind (not root), with
//!   [`read_only_sqlite`].

mod binaries;
mod db;
mod http;
mod logs;
mod platform;
mod process;
mod proxy;
mod receiver;
#[cfg(unix)]
mod unprivileged;

pub use binaries::binary;
pub use db::{backends, postgres_configured, Backend, Counts, PgDatabase, TestDb};
pub use http::Response;
pub use logs::{insert_account_and_clip, insert_due_logs, insert_logs, sql_time, Logs};
pub use platform::{Answer, FakePlatform, Received};
pub use process::{collect_stderr, Process};
pub use proxy::Proxy;
pub use receiver::{Delivery, Receiver, Reply};
#[cfg(unix)]
pub use unprivileged::{read_only_sqlite, unprivileged};

/// Runs each test body on SQLite and, when configured, on PostgreSQL: `fn name(db) { … }`
/// becomes the tests `name::sqlite` and `name::postgres`, with `db` a fresh `&TestDb`, created
/// and migrated (the PostgreSQL one passes without running when `TEST_DATABASE_URL` is not
/// set).
#[macro_export]
macro_rules! both_backends {
    ($(fn $name:ident($db:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sqlite() {
                let $db = &$crate::TestDb::sqlite();
                $db.migrate();
                $body
            }

            #[test]
            fn postgres() {
                if let Some(db) = $crate::TestDb::postgres() {
                    let $db = &db;
                    $db.migrate();
                    $body
                }
            }
        }
    )*};
}
