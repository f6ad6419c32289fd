//! Stored answers for the API's `Idempotency-Key`: a retry with the same key and endpoint gets
//! the first answer. Save the answer in the same write transaction as the write it protects
//! (see [`crate::write_transaction`]), so that both or neither are stored.

use chrono::{DateTime, SubsecRound, Utc};
use diesel::prelude::*;

use crate::backend::write_transaction;
use crate::db::Conn;
use crate::error::{Result, StoreError};
use crate::schema::idempotency_keys;

/// The first answer given for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// A hash of the request body: the same key with another body is refused.
    pub request_hash: String,
    /// The HTTP status.
    pub status: u16,
    /// The response body.
    pub body: String,
}

/// The answer stored for `key` on `endpoint`, if any.
pub fn find_response(conn: &mut Conn, key: &str, endpoint: &str) -> Result<Option<StoredResponse>> {
    let row: Option<(String, i32, String)> = idempotency_keys::table
        .find((key, endpoint))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::response_status,
            idempotency_keys::response_body,
        ))
        .get_result(conn)
        .optional()?;
    row.map(|(request_hash, status, body)| {
        let status = u16::try_from(status)
            .map_err(|_| StoreError::Corrupt(format!("idempotency key {key}: status {status}")))?;
        Ok(StoredResponse {
            request_hash,
            status,
            body,
        })
    })
    .transpose()
}

/// Stores the answer for `key` on `endpoint`. [`StoreError::Conflict`] when a concurrent
/// request stored one first (its transaction should then be rolled back and the stored answer
/// read).
pub fn save_response(
    conn: &mut Conn,
    key: &str,
    endpoint: &str,
    response: &StoredResponse,
    now: DateTime<Utc>,
) -> Result<()> {
    write_transaction(conn, |conn| {
        diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::key.eq(key),
                idempotency_keys::endpoint.eq(endpoint),
                idempotency_keys::request_hash.eq(&response.request_hash),
                idempotency_keys::response_status.eq(i32::from(response.status)),
                idempotency_keys::response_body.eq(&response.body),
                idempotency_keys::created_at.eq(now.trunc_subsecs(0).naive_utc()),
            ))
            .execute(conn)
            .map_err(StoreError::on_duplicate(|| {
                format!("idempotency key {key} on {endpoint} is already stored")
            }))?;
        Ok(())
    })
}
