//! Reading request bodies and checking the limits every input must respect, before anything
//! reaches the store.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};
use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use scheduler_core::SUPPORTED_YEARS;
pub use scheduler_store::accounts::is_valid_id;
use scheduler_store::StoreError;
use serde::de::{self, DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::{ApiError, ErrorCode};

mod whole;
pub use whole::{Count, Whole};

/// The longest id a client may choose (the store's limit).
pub const MAX_ID_LEN: usize = scheduler_store::accounts::MAX_ID_LEN;
/// The longest free-text field (`handle`, `title`, `media_url`).
pub const MAX_TEXT_LEN: usize = 2_048;
/// The longest short name (`platform`, `timezone`, `scheduled_by`, filters).
pub const MAX_NAME_LEN: usize = 128;

/// The largest request body accepted (256 KiB); a larger one gets 413.
pub const BODY_LIMIT: usize = 256 * 1024;

/// How long a request body may take to arrive once its head has; a slower one gets 408 (a
/// client trickling a body would otherwise hold its connection for as long as it likes).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(15);

/// A request body, read whole: at most [`BODY_LIMIT`] bytes (413 beyond, refused before it is
/// read when `Content-Length` says so), within [`BODY_TIMEOUT`] (408 after).
#[derive(Debug, Clone)]
pub struct Body(pub web::Bytes);

impl FromRequest for Body {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // The app's `PayloadConfig` sets the limit.
        let read = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            match tokio::time::timeout(BODY_TIMEOUT, read).await {
                Ok(Ok(bytes)) => Ok(Body(bytes)),
                Ok(Err(e))
                    if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE =>
                {
                    Err(ApiError::too_large())
                }
                Ok(Err(e)) => Err(ApiError::malformed(format!("cannot read the body: {e}"))),
                Err(_) => Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    ErrorCode::MalformedJson,
                    format!(
                        "the request body did not arrive within {} s",
                        BODY_TIMEOUT.as_secs()
                    ),
                )),
            }
        })
    }
}

/// A body parsed as JSON ([`json_value`]).
#[derive(Debug, Clone)]
pub struct JsonBody(pub Value);

impl FromRequest for JsonBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = Body::from_request(req, payload);
        Box::pin(async move { json_value(&body.await?.0).map(JsonBody) })
    }
}

/// Parses a body as JSON: 400 `malformed_json` when it is not JSON, or when an
/// object names a key twice (serde_json would keep the last one silently, so a client could
/// not tell which of two values it meant was used).
pub fn json_value(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice::<Strict>(body)
        .map(|strict| strict.0)
        .map_err(|e| ApiError::malformed(format!("malformed JSON: {e}")))
}

/// 400 unless `body` is empty (or blank) or an empty JSON object: for the endpoints that take
/// no body, so that a body meant for another one is not ignored in silence.
pub fn no_body(body: &[u8]) -> Result<(), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match json_value(body)? {
        Value::Object(map) => match map.keys().next() {
            None => Ok(()),
            Some(field) => Err(ApiError::unknown_field(field)),
        },
        _ => Err(ApiError::bad_field(
            "this endpoint takes no body (or an empty JSON object)",
        )),
    }
}

/// A JSON value read by a deserializer that refuses an object with a key given twice.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{}`",
                    scheduler_core::shown(&key)
                )));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Reads a JSON object into `T`: 400 `unknown_field` naming the first field `T` does not
/// know (a misspelt `scheduledFor` must not be ignored and leave the time unset), 400
/// `invalid_field` on a missing field or a wrong type.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::bad_field(
            "invalid request body: expected a JSON object",
        ));
    }
    let mut unknown = None;
    let parsed = serde_ignored::deserialize(value, |path| {
        unknown.get_or_insert_with(|| path.to_string());
    });
    if let Some(field) = unknown {
        return Err(ApiError::unknown_field(&field));
    }
    parsed.map_err(|e| ApiError::bad_field(format!("invalid request body: {e}")))
}

/// A body that may be left empty: `T::default()` for an empty (or blank) body, else the JSON
/// object read as [`from_value`] reads it.
pub fn body_or_default<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        from_value(json_value(body)?)
    }
}

/// A query string read into `T` as [`from_value`] reads a body: every parameter a string,
/// none unknown and none given twice (400 `unknown_field` or `invalid_field`).
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(query(req.query_string()).map(Query))
    }
}

fn query<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(text)
        .map_err(|e| ApiError::bad_field(format!("malformed query string: {e}")))?;
    let mut object = serde_json::Map::new();
    for (name, value) in pairs.into_inner() {
        if object.insert(name.clone(), Value::String(value)).is_some() {
            return Err(ApiError::bad_field(format!(
                "query parameter `{}` is given twice",
                scheduler_core::shown(&name)
            )));
        }
    }
    from_value(Value::Object(object))
}

/// The id of a path (`/accounts/{id}`): 404 `<kind> not found` for one no row can have
/// ([`is_valid_id`]), without asking the database.
pub fn path_id(kind: &'static str, id: web::Path<String>) -> Result<String, ApiError> {
    let id = id.into_inner();
    if is_valid_id(&id) {
        Ok(id)
    } else {
        Err(StoreError::NotFound { kind, id }.into())
    }
}

/// 422 unless `id` is an acceptable id.
pub fn check_id(field: &str, id: &str) -> Result<(), ApiError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(ApiError::unacceptable(format!(
            "{field} must be 1 to {MAX_ID_LEN} characters without whitespace or control characters, and not . or .."
        )))
    }
}

/// 422 unless `text` has at most `max` characters and no control characters but tab and
/// newlines.
pub fn check_text(field: &str, text: &str, max: usize) -> Result<(), ApiError> {
    if text.chars().count() > max {
        return Err(ApiError::unacceptable(format!(
            "{field} is longer than {max} characters"
        )));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(ApiError::unacceptable(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(())
}

/// A time from the client: RFC 3339 (an offset, or `Z`), or a date and time without an
/// offset, taken as UTC. 400 when it is not a time, or names a leap second (`23:59:60`, which
/// no stored time can be); 422 when its year is outside [`SUPPORTED_YEARS`].
pub fn parse_time(field: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    let shown = || scheduler_core::shown(text);
    let parsed = DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
        })
        .map_err(|_| {
            ApiError::bad_field(format!(
                "{field} is not a time: expected RFC 3339 such as 2025-01-15T20:00:00Z, got {:?}",
                shown()
            ))
        })?;
    // chrono reads second 60 as a leap second, past the end of second 59.
    if parsed.timestamp_subsec_nanos() >= 1_000_000_000 {
        return Err(ApiError::bad_field(format!(
            "{field} names a leap second ({:?}): use second 59 or the next minute",
            shown()
        )));
    }
    if !SUPPORTED_YEARS.contains(&parsed.year()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::OutOfRange,
            format!(
                "{field} must be between the years {} and {}, got {}",
                SUPPORTED_YEARS.start(),
                SUPPORTED_YEARS.end(),
                shown()
            ),
        ));
    }
    Ok(parsed)
}

/// A query filter's value: at most [`MAX_NAME_LEN`] characters without control characters (400
/// `invalid_field`); an empty one (`?entity_id=`) is no filter, as an HTML form sends it.
pub fn filter_text(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value.filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > MAX_NAME_LEN || v.chars().any(char::is_control) => {
            Err(ApiError::bad_field(format!(
                "{name} must be at most {MAX_NAME_LEN} characters without control characters"
            )))
        }
        other => Ok(other),
    }
}

/// A page's `limit`: `default` when absent or empty, else an integer from 1 to `max` (400
/// `invalid_field` otherwise).
pub fn limit(value: Option<String>, default: u32, max: u32) -> Result<u32, ApiError> {
    query_number("limit", value, default, max)
}

/// A numeric query parameter `name`: `default` when absent or empty, else an integer from 1 to
/// `max` (400 `invalid_field` otherwise).
pub fn query_number(
    name: &str,
    value: Option<String>,
    default: u32,
    max: u32,
) -> Result<u32, ApiError> {
    match value.as_deref().filter(|l| !l.is_empty()) {
        None => Ok(default),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::bad_field(format!("{name} must be an integer from 1 to {max}"))
            }),
    }
}

/// A number of a body, `value`, or 422 `invalid_field` naming the field and the range.
pub fn in_range(
    field: &str,
    value: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ApiError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::unacceptable(format!(
            "{field} must be in {}..={}, got {value}",
            range.start(),
            range.end()
        )))
    }
}

/// A boolean query parameter: omitted or empty is `false`; `true`/`false`, `1`/`0`, `yes`/`no`,
/// `on`/`off` in any case; anything else 400 `invalid_field`.
pub fn parse_bool(name: &str, value: Option<&str>) -> Result<bool, ApiError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "false" | "0" | "no" | "off") => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some(_) => Err(ApiError::bad_field(format!("{name} must be true or false"))),
    }
}

/// An optional time field.
pub fn parse_opt_time(field: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    text.map(|t| parse_time(field, t)).transpose()
}

#[cfg(test)]
mod tests;
