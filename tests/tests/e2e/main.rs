//! End-to-end tests of the contract's guarantees (sections 7 and 15), with the real `api-server`
//! and `tick-runner` binaries started as separate processes. Each test runs on SQLite and,
//! when `TEST_DATABASE_URL` is set, on PostgreSQL. See `docs/reliability.md`.

mod calendar;
mod crash;
mod hostile;
mod many_instances;
mod outage;
mod publishing;
mod rng;
mod security;
mod series;
mod ticks;
mod webhooks;

/// `fn name(backend) { … }` becomes the tests `name::sqlite` and `name::postgres` (the latter
/// passes without running when `TEST_DATABASE_URL` is not set).
macro_rules! both_backends {
    ($(fn $name:ident($backend:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn run($backend: e2e::Backend) $body

            #[test]
            fn sqlite() {
                run(e2e::Backend::Sqlite);
            }

            #[test]
            fn postgres() {
                if e2e::postgres_configured() {
                    run(e2e::Backend::Postgres);
                } else {
                    eprintln!("skipped: TEST_DATABASE_URL is not set");
                }
            }
        }
    )*};
}
pub(crate) use both_backends;
