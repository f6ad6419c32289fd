//! The store's integration tests: each behaviour on a fresh SQLite file and, with
//! `TEST_DATABASE_URL=postgres://…`, on a fresh PostgreSQL database.

mod support;

mod accounts;
mod atomicity;
mod concurrency;
mod database;
mod group;
mod handoff;
mod idempotency;
mod ledger;
mod lists;
mod monitoring;
mod schedule;
mod series;
mod suggestions;
mod tick;
mod webhooks;
