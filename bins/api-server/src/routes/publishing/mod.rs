//! The publishing handoff (contract section 8): workers claim pending logs with a lease and
//! report on them (`claims`, `reports`); a person confirms what may have been published, and
//! retries what failed (`settle`).

mod claims;
pub mod engagement;
mod reports;
mod settle;

use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;
use crate::input::{check_text, from_value, json_value};

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(claims::claims)
        .service(claims::heartbeat)
        .service(reports::complete)
        .service(reports::fail)
        .service(engagement::record_metrics)
        .service(settle::confirm)
        .service(settle::retry);
}

/// The longest lease token and platform post id a client may send.
const MAX_TOKEN_LEN: usize = 128;

/// Reads a JSON object body into `T` (400 on malformed JSON, wrong types, unknown fields).
pub(super) fn body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    from_value(json_value(body)?)
}

/// A lease token, checked for length and form (any other token is simply not the lease's).
pub(super) fn token(text: &str) -> Result<String, ApiError> {
    check_text("lease_token", text, MAX_TOKEN_LEN)?;
    Ok(text.to_owned())
}

pub(super) const LOG_ID: &str = "The log's id";
