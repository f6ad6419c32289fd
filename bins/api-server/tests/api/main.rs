//! Black-box tests of the api-server: the real server on port 0 with a fresh database, on
//! SQLite and (with `TEST_DATABASE_URL=postgres://…`) PostgreSQL.

mod support;

mod accounts;
mod auth;
mod calendar;
mod concurrency;
mod cors;
mod errors;
mod hostile;
mod idempotency;
mod ledger;
mod lists;
mod logs;
mod metrics;
mod openapi;
mod priority;
mod process;
mod publishing;
mod schedule;
mod series;
mod startup;
mod suggestions;
mod webhooks;
