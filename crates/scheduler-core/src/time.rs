//! Instants as the scheduler handles them: UTC, whole seconds, within the supported years.

use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, NaiveDateTime, SecondsFormat, Utc};

/// The years the scheduler works in. The planner refuses inputs outside them and never returns
/// an instant after [`latest_supported`], so every instant it returns prints as plain RFC 3339
/// (a four-digit year) and sorts correctly as text (as SQLite compares stored times), and no
/// arithmetic on its inputs can overflow chrono's range.
pub const SUPPORTED_YEARS: RangeInclusive<i32> = 1970..=9999;

/// The last instant of the supported years, `9999-12-31T23:59:59Z`: no slot and no window end
/// the planner returns is later.
pub fn latest_supported() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 0).expect("9999-12-31T23:59:59Z is a valid instant")
}

/// Whether `t` lies in [`SUPPORTED_YEARS`].
pub fn is_supported(t: DateTime<Utc>) -> bool {
    SUPPORTED_YEARS.contains(&t.year())
}

/// An instant as the contract writes it: RFC 3339, UTC with `Z`, whole seconds.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The format of a local date-time without offset, as series take and show them
/// (`2026-12-07T18:30:00`).
const LOCAL_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// A local date-time as series write it: `2026-12-07T18:30:00`, whole seconds, no offset. For
/// the supported years it sorts as text in time order.
pub fn local_text(t: NaiveDateTime) -> String {
    t.format(LOCAL_FORMAT).to_string()
}

/// Why a text is not a local date-time a series takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalTimeError {
    /// Not `YYYY-MM-DDTHH:MM:SS` (an offset, a fraction or a leap second included).
    #[error("expected a local date-time without offset such as 2026-12-07T18:30:00")]
    Malformed,
    /// A year outside [`SUPPORTED_YEARS`].
    #[error("the year must be between 1970 and 9999")]
    OutOfRange,
}

/// Reads a local date-time written as [`local_text`] writes it: whole seconds, no offset, no
/// leap second, in [`SUPPORTED_YEARS`].
pub fn parse_local(text: &str) -> Result<NaiveDateTime, LocalTimeError> {
    let t = NaiveDateTime::parse_from_str(text, LOCAL_FORMAT)
        .ok()
        // chrono reads second 60 as a leap second, which no clock in a zone shows.
        .filter(|t| t.and_utc().timestamp_subsec_nanos() == 0 && local_text(*t) == text)
        .ok_or(LocalTimeError::Malformed)?;
    if !SUPPORTED_YEARS.contains(&t.year()) {
        return Err(LocalTimeError::OutOfRange);
    }
    Ok(t)
}

/// Rounds up to a whole second: a slot is never earlier than asked for. A leap second
/// (`23:59:60`) becomes the second after it.
pub fn ceil_to_second(t: DateTime<Utc>) -> DateTime<Utc> {
    let whole = t.timestamp();
    let secs = if t.timestamp_subsec_nanos() > 0 {
        whole + 1
    } else {
        whole
    };
    DateTime::from_timestamp(secs, 0).unwrap_or(t)
}

/// Rounds down to a whole second: the latest acceptable slot at or before `t`. A leap second
/// (`23:59:60`) becomes the second before it.
pub fn floor_to_second(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_read_back_and_refuse_what_is_not_one() {
        let t = parse_local("2026-12-07T18:30:00").unwrap();
        assert_eq!(local_text(t), "2026-12-07T18:30:00");
        for bad in [
            "2026-12-07T18:30:00Z",
            "2026-12-07T18:30:00+01:00",
            "2026-12-07T18:30:00.5",
            "2026-12-07T18:30",
            "2026-12-07 18:30:00",
            "2026-12-07T23:59:60",
            "2026-02-30T10:00:00",
            "+2026-12-07T18:30:00",
            "",
        ] {
            assert_eq!(parse_local(bad), Err(LocalTimeError::Malformed), "{bad}");
        }
        assert_eq!(
            parse_local("1969-12-31T23:00:00"),
            Err(LocalTimeError::OutOfRange)
        );
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn rounding_gives_real_whole_seconds() {
        let check = |input: &str, up: &str, down: &str| {
            assert_eq!(rfc3339(ceil_to_second(at(input))), up, "ceil {input}");
            assert_eq!(rfc3339(floor_to_second(at(input))), down, "floor {input}");
        };
        check(
            "2026-01-31T18:00:07Z",
            "2026-01-31T18:00:07Z",
            "2026-01-31T18:00:07Z",
        );
        check(
            "2026-01-31T18:00:07.5Z",
            "2026-01-31T18:00:08Z",
            "2026-01-31T18:00:07Z",
        );
        check(
            "2026-01-31T18:00:07.000000001Z",
            "2026-01-31T18:00:08Z",
            "2026-01-31T18:00:07Z",
        );
        check(
            "2016-12-31T23:59:60Z",
            "2017-01-01T00:00:00Z",
            "2016-12-31T23:59:59Z",
        );
        check(
            "2026-01-31T23:30:60.5Z",
            "2026-01-31T23:31:00Z",
            "2026-01-31T23:30:59Z",
        );
    }

    #[test]
    fn the_supported_range_ends_with_year_9999() {
        assert_eq!(rfc3339(latest_supported()), "9999-12-31T23:59:59Z");
        assert!(is_supported(latest_supported()));
        assert!(!is_supported(at("+10000-01-01T00:00:00Z")));
        assert!(is_supported(at("1970-01-01T00:00:00Z")));
        assert!(!is_supported(at("1969-12-31T23:59:59Z")));
    }
}
