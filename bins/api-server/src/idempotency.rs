//! `Idempotency-Key`: a retry with the same key and body gets the first answer (status and
//! body) without writing again; the same key with another body is 422. The store keeps the
//! answers ([`scheduler_store::idempotency`]); here the key is read from the request.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use scheduler_store::idempotency::{Answer, IdempotencyKey, StoredResponse};
use scheduler_store::StoreError;
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::input::JsonBody;

/// The header.
pub const HEADER: &str = "Idempotency-Key";
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// A JSON body and the request's idempotency key, if it has one: what an endpoint that takes
/// `Idempotency-Key` extracts (and documents with `params(Idempotency)`).
#[derive(Debug)]
pub struct Idempotent {
    /// The body.
    pub body: Value,
    /// The key, scoped to the method and path (`POST /clips`), with a hash of the body.
    pub key: Option<IdempotencyKey>,
}

/// The header, for the OpenAPI document.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct Idempotency {
    /// Makes a retry with the same body return the first answer without writing again (1 to
    /// 255 visible ASCII characters); the same key with another body is 422.
    #[param(
        rename = "Idempotency-Key",
        min_length = 1,
        max_length = 255,
        pattern = r"^[\x21-\x7e]+$"
    )]
    pub key: Option<String>,
}

impl FromRequest for Idempotent {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let header = key_header(req);
        // The request's own path: a key used on one log is not the same key on another.
        let endpoint = format!("{} {}", req.method(), req.path());
        let body = JsonBody::from_request(req, payload);
        Box::pin(async move {
            // The body first: a malformed retry is 400 whatever its key.
            let JsonBody(body) = body.await?;
            let key = header?.map(|key| IdempotencyKey {
                key,
                endpoint,
                // Canonical JSON: a retry that only re-orders keys or changes whitespace is the
                // same request.
                request_hash: hex(&Sha256::digest(body.to_string().as_bytes())),
            });
            Ok(Self { body, key })
        })
    }
}

/// The request's key: 400 when it is empty, too long or not visible ASCII.
fn key_header(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|k| (1..=MAX_KEY_LEN).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(|k| Some(k.to_owned()))
        .ok_or_else(|| {
            ApiError::bad_field(format!(
                "{HEADER} must be 1 to {MAX_KEY_LEN} visible ASCII characters"
            ))
        })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `value` as a JSON answer with `status`, which wrote something (see [`Answer::wrote`]).
pub fn answer<T: serde::Serialize>(status: StatusCode, value: &T) -> Result<Answer, StoreError> {
    let body = serde_json::to_string(value)
        .map_err(|e| StoreError::Internal(format!("cannot serialize the answer: {e}")))?;
    Ok(Answer {
        response: StoredResponse {
            status: status.as_u16(),
            body,
            location: None,
        },
        wrote: true,
    })
}

/// `value` as a `201 Created` whose `Location` is `collection/<id>`, where the new row is read.
pub fn created<T: serde::Serialize>(
    collection: &str,
    id: &str,
    value: &T,
) -> Result<Answer, StoreError> {
    let mut answer = answer(StatusCode::CREATED, value)?;
    answer.response.location = Some(format!("{collection}/{}", path_segment(id)));
    Ok(answer)
}

/// `text` as one path segment: every byte but RFC 3986's unreserved characters
/// percent-encoded, so that an id with `/`, `?`, `#`, `%` or non-ASCII letters stays one
/// segment and decodes back to itself.
fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The HTTP response of a stored or fresh answer.
pub fn into_response(response: StoredResponse) -> Result<HttpResponse, ApiError> {
    let status = StatusCode::from_u16(response.status)
        .map_err(|e| ApiError::internal(format!("stored status {}: {e}", response.status)))?;
    let mut builder = HttpResponse::build(status);
    if let Some(location) = response.location {
        builder.insert_header((header::LOCATION, location));
    }
    Ok(builder
        .content_type(ContentType::json())
        .body(response.body))
}
