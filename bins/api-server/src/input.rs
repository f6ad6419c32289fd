//! Reading request bodies and checking the limits every input must respect, before anything
//! reaches the store.

use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use scheduler_core::SUPPORTED_YEARS;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// The longest id a client may choose (the store's limit).
pub const MAX_ID_LEN: usize = scheduler_store::accounts::MAX_ID_LEN;
/// The longest free-text field (`handle`, `title`, `media_url`).
pub const MAX_TEXT_LEN: usize = 2_048;
/// The longest short name (`platform`, `timezone`, `scheduled_by`, filters).
pub const MAX_NAME_LEN: usize = 128;

/// Parses a body as JSON whatever its `Content-Type`: 400 when it is not JSON.
pub fn json_value(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))
}

/// Reads a JSON value into `T`: 400 on a missing field or a wrong type.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::BadRequest(
            "invalid request body: expected a JSON object".to_owned(),
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::BadRequest(format!("invalid request body: {e}")))
}

/// Whether `id` is an acceptable id: 1 to [`MAX_ID_LEN`] characters, none of them whitespace or
/// control characters.
pub fn is_valid_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.chars().count())
        && !id.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// 422 unless `id` is an acceptable id.
pub fn check_id(field: &str, id: &str) -> Result<(), ApiError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(ApiError::Unprocessable(format!(
            "{field} must be 1 to {MAX_ID_LEN} characters without whitespace or control characters"
        )))
    }
}

/// 422 unless `text` has at most `max` characters and no control characters but tab and
/// newlines.
pub fn check_text(field: &str, text: &str, max: usize) -> Result<(), ApiError> {
    if text.chars().count() > max {
        return Err(ApiError::Unprocessable(format!(
            "{field} is longer than {max} characters"
        )));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(ApiError::Unprocessable(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(())
}

/// A time from the client: RFC 3339 (an offset, or `Z`), or a date and time without an
/// offset, taken as UTC. 400 when it is not a time, or names a leap second (`23:59:60`, which
/// no stored time can be); 422 when its year is outside [`SUPPORTED_YEARS`].
pub fn parse_time(field: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    let shown = || text.chars().take(64).collect::<String>();
    let parsed = DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
        })
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "{field} is not a time: expected RFC 3339 such as 2025-01-15T20:00:00Z, got {:?}",
                shown()
            ))
        })?;
    // chrono reads second 60 as a leap second, past the end of second 59.
    if parsed.timestamp_subsec_nanos() >= 1_000_000_000 {
        return Err(ApiError::BadRequest(format!(
            "{field} names a leap second ({:?}): use second 59 or the next minute",
            shown()
        )));
    }
    if !SUPPORTED_YEARS.contains(&parsed.year()) {
        return Err(ApiError::Unprocessable(format!(
            "{field} must be between the years {} and {}, got {}",
            SUPPORTED_YEARS.start(),
            SUPPORTED_YEARS.end(),
            shown()
        )));
    }
    Ok(parsed)
}

/// An optional time field.
pub fn parse_opt_time(field: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    text.map(|t| parse_time(field, t)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(is_valid_id("acc_1"));
        assert!(is_valid_id("ñandú-☃"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("a b"));
        assert!(!is_valid_id("a\u{0}b"));
        assert!(!is_valid_id(&"x".repeat(129)));
        assert!(is_valid_id(&"x".repeat(128)));
    }

    #[test]
    fn times() {
        let t = parse_time("t", "2025-01-15T20:00:00+01:00").unwrap();
        assert_eq!(scheduler_core::rfc3339(t), "2025-01-15T19:00:00Z");
        let t = parse_time("t", "2025-01-15T20:00:00").unwrap();
        assert_eq!(scheduler_core::rfc3339(t), "2025-01-15T20:00:00Z");
        assert!(matches!(
            parse_time("t", "yesterday"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_time("t", "0001-01-01T00:00:00Z"),
            Err(ApiError::Unprocessable(_))
        ));
        assert!(matches!(
            parse_time("t", "+10000-01-01T00:00:00Z"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(parse_time("t", "9999-12-31T23:59:59Z").is_ok());
        for leap in [
            "2099-01-15T23:30:60Z",
            "2016-12-31T23:59:60Z",
            "2099-01-15T23:59:60.5",
        ] {
            assert!(
                matches!(parse_time("t", leap), Err(ApiError::BadRequest(_))),
                "{leap}"
            );
        }
    }
}
