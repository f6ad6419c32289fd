//! `Idempotency-Key`: a retry with the same key and body gets the first answer (status and
//! body) without writing again; the same key with another body is 422. The answer is stored
//! in the same write transaction as the write it protects, so both or neither are stored.

use actix_web::http::header::ContentType;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use scheduler_store::{
    find_response, save_response, write_transaction, Conn, StoreError, StoredResponse,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// The header.
pub const HEADER: &str = "Idempotency-Key";
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// A request's key, the endpoint it was sent to, and a hash of its body.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    key: String,
    endpoint: &'static str,
    request_hash: String,
}

impl IdempotencyKey {
    /// The request's key, if it has one: 400 when it is empty, too long or not visible ASCII.
    /// The body is hashed in its canonical JSON form, so a retry that only re-orders keys or
    /// changes whitespace is the same request.
    pub fn from_request(
        req: &HttpRequest,
        endpoint: &'static str,
        body: &Value,
    ) -> Result<Option<Self>, ApiError> {
        let Some(value) = req.headers().get(HEADER) else {
            return Ok(None);
        };
        let key = value
            .to_str()
            .ok()
            .filter(|k| {
                (1..=MAX_KEY_LEN).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic())
            })
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "{HEADER} must be 1 to {MAX_KEY_LEN} visible ASCII characters"
                ))
            })?;
        let digest = Sha256::digest(body.to_string().as_bytes());
        let request_hash = digest.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Some(Self {
            key: key.to_owned(),
            endpoint,
            request_hash,
        }))
    }

    fn replay(&self, stored: StoredResponse) -> Result<Reply, ApiError> {
        if stored.request_hash != self.request_hash {
            return Err(ApiError::Unprocessable(format!(
                "{HEADER} {} was already used with a different request body",
                self.key
            )));
        }
        let status = StatusCode::from_u16(stored.status)
            .map_err(|e| ApiError::Internal(format!("stored status {}: {e}", stored.status)))?;
        Ok(Reply {
            status,
            body: stored.body,
            wrote_nothing: false,
        })
    }
}

/// A status and a JSON body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The JSON body.
    pub body: String,
    /// The answer wrote nothing (a batch whose every item was rejected): like a rejection, it
    /// is not stored under the key, so a retry after fixing the cause is planned anew.
    pub wrote_nothing: bool,
}

impl Reply {
    /// `value` as JSON with `status`.
    pub fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Result<Self, StoreError> {
        let body = serde_json::to_string(value)
            .map_err(|e| StoreError::Corrupt(format!("cannot serialize the answer: {e}")))?;
        Ok(Self {
            status,
            body,
            wrote_nothing: false,
        })
    }

    /// The same answer, marked as having written nothing (see [`Reply::wrote_nothing`]).
    pub fn wrote_nothing(self) -> Self {
        Self {
            wrote_nothing: true,
            ..self
        }
    }

    /// The HTTP response.
    pub fn into_response(self) -> HttpResponse {
        HttpResponse::build(self.status)
            .content_type(ContentType::json())
            .body(self.body)
    }
}

/// Runs `write` (which must do its writes through `conn`), storing its answer under `key` in
/// the same transaction; with a stored answer for `key`, returns that instead and writes
/// nothing. Without a key, just runs `write`. Errors, and answers that wrote nothing, are not
/// stored: a rejected request writes nothing, its key included.
pub fn run(
    conn: &mut Conn,
    key: Option<&IdempotencyKey>,
    now: DateTime<Utc>,
    write: impl FnOnce(&mut Conn) -> Result<Reply, StoreError>,
) -> Result<Reply, ApiError> {
    let Some(key) = key else {
        return Ok(write(conn)?);
    };
    if let Some(stored) = find_response(conn, &key.key, key.endpoint)? {
        return key.replay(stored);
    }
    let result = write_transaction(conn, |conn| {
        let reply = write(conn)?;
        if reply.wrote_nothing {
            return Ok(reply);
        }
        let stored = StoredResponse {
            request_hash: key.request_hash.clone(),
            status: reply.status.as_u16(),
            body: reply.body.clone(),
        };
        save_response(conn, &key.key, key.endpoint, &stored, now)?;
        Ok(reply)
    });
    match result {
        Ok(reply) => Ok(reply),
        // A concurrent request with the same key may have stored its answer first.
        Err(StoreError::Conflict(message)) => match find_response(conn, &key.key, key.endpoint)? {
            Some(stored) => key.replay(stored),
            None => Err(StoreError::Conflict(message).into()),
        },
        Err(other) => Err(other.into()),
    }
}
