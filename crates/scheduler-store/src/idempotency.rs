//! Idempotency keys: a retry with the same key, endpoint and body gets the first answer without
//! writing again; the same key with another body is refused. The answer is stored in the same
//! transaction as the write it protects, so both or neither are stored.

use chrono::{DateTime, SubsecRound, Utc};
use diesel::prelude::*;

use crate::conn::{savepoint, Conn, JobError};
use crate::error::{Result, StoreError};
use crate::schema::idempotency_keys;

/// A request's key: the client's key, the endpoint it was sent to (`POST /clips`), and a hash of
/// its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The client's key.
    pub key: String,
    /// The endpoint; a key is scoped to it.
    pub endpoint: String,
    /// A hash of the request body.
    pub request_hash: String,
}

/// An answer, as a key stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The HTTP status.
    pub status: u16,
    /// The response body.
    pub body: String,
    /// The `Location` header of a `201`: where the created row is read.
    pub location: Option<String>,
}

/// What [`run`]'s write answered, and whether to store it: an answer that wrote nothing (a
/// batch whose every item was rejected) is not stored, like any rejection, so that a retry
/// after fixing the cause is planned anew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The answer.
    pub response: StoredResponse,
    /// Whether the write wrote anything.
    pub wrote: bool,
}

/// Runs `write`, storing its answer under `key` in the same transaction. With an answer already
/// stored under `key`, returns that one and writes nothing; with the same key but another body,
/// [`StoreError::KeyReused`]. Without a key, just runs `write`. An error, or an answer that
/// wrote nothing, is not stored. A concurrent request with the same key that stores its answer
/// first wins: this one's writes are rolled back and its answer is the stored one.
pub fn run<E>(
    conn: &mut Conn,
    key: Option<&IdempotencyKey>,
    now: DateTime<Utc>,
    write: impl FnOnce(&mut Conn) -> std::result::Result<Answer, E>,
) -> std::result::Result<StoredResponse, E>
where
    E: From<StoreError>,
{
    let Some(key) = key else {
        return write(conn).map(|answer| answer.response);
    };
    if let Some(stored) = find_response(conn, key)? {
        return Ok(stored);
    }
    let attempt = savepoint(conn, |conn| {
        let answer = write(conn).map_err(JobError::Job)?;
        if answer.wrote {
            save_response(conn, key, &answer.response, now).map_err(JobError::Store)?;
        }
        Ok(answer.response)
    });
    match attempt {
        Ok(response) => Ok(response),
        Err(JobError::Store(StoreError::Conflict(message))) => {
            find_response(conn, key)?.ok_or_else(|| StoreError::Conflict(message).into())
        }
        Err(other) => Err(other.into_inner()),
    }
}

/// The answer stored for `key` (its key and endpoint), if any; [`StoreError::KeyReused`] when
/// it was stored for another body.
pub fn find_response(conn: &mut Conn, key: &IdempotencyKey) -> Result<Option<StoredResponse>> {
    let row: Option<(String, i32, String, Option<String>)> = idempotency_keys::table
        .find((&key.key, &key.endpoint))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::response_status,
            idempotency_keys::response_body,
            idempotency_keys::response_location,
        ))
        .get_result(conn)
        .optional()?;
    let Some((request_hash, status, body, location)) = row else {
        return Ok(None);
    };
    if request_hash != key.request_hash {
        return Err(StoreError::KeyReused(key.key.clone()));
    }
    let status = u16::try_from(status).map_err(|_| {
        StoreError::Corrupt(format!("idempotency key {}: status {status}", key.key))
    })?;
    Ok(Some(StoredResponse {
        status,
        body,
        location,
    }))
}

/// Stores the answer for `key`. [`StoreError::Conflict`] when a concurrent request stored one
/// first.
fn save_response(
    conn: &mut Conn,
    key: &IdempotencyKey,
    response: &StoredResponse,
    now: DateTime<Utc>,
) -> Result<()> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::key.eq(&key.key),
            idempotency_keys::endpoint.eq(&key.endpoint),
            idempotency_keys::request_hash.eq(&key.request_hash),
            idempotency_keys::response_status.eq(i32::from(response.status)),
            idempotency_keys::response_body.eq(&response.body),
            idempotency_keys::response_location.eq(&response.location),
            idempotency_keys::created_at.eq(now.trunc_subsecs(0).naive_utc()),
        ))
        .execute(conn)
        .map_err(StoreError::on_duplicate(|| {
            format!(
                "idempotency key {} on {} is already stored",
                key.key, key.endpoint
            )
        }))?;
    Ok(())
}
