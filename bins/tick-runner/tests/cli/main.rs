//! tick-runner's integration tests: each runs the real binary on a fresh SQLite file and,
//! with `TEST_DATABASE_URL=postgres://…`, on a fresh PostgreSQL database.

mod support;

mod clock;
mod concurrency;
mod errors;
mod loop_mode;
mod once;
