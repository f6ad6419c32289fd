//! The HTTP API of the publishing scheduler (contract section 4), as a library so that tests
//! and other programs can start it: build an [`Application`] from a [`Config`], read its
//! [`Application::port`], and [`Application::run_until_stopped`].

pub mod config;
pub mod cors;
pub mod error;
pub mod idempotency;
pub mod input;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod protocol_errors;
pub mod routes;
pub mod startup;
pub mod state;

pub use config::Config;
pub use startup::Application;
