//! The positions of the paged lists, written as text for clients who keep them without reading
//! them: [`FeedCursor`] for the ledger's feed, [`LogCursor`] for the list of logs.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::models::{LedgerEvent, PublishLog};

/// A cursor that is not one this store wrote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a cursor of this list: pass the one an earlier answer gave, or none to start")]
pub struct BadCursor;

/// The most digits a number of a cursor has: more than any id or time needs, and always an
/// `i64`.
const MAX_DIGITS: usize = 18;

/// 9999-12-31T23:59:59Z, the last second of the supported years: no log is later.
const LAST_SECOND: i64 = 253_402_300_799;

/// The most bytes of an id (128 characters of up to 4 bytes each).
const MAX_ID_BYTES: usize = 512;

/// A non-negative decimal number as [`fmt::Display`] writes it: digits only, no leading zero,
/// at most [`MAX_DIGITS`]; so that each number has one spelling.
fn number(text: &str) -> Result<i64, BadCursor> {
    let canonical = !text.is_empty()
        && text.len() <= MAX_DIGITS
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(BadCursor);
    }
    text.parse().map_err(|_| BadCursor)
}

/// Where a reader of the feed stands: after the event `(txid, seq)`. Written as text for
/// clients, who keep it without reading it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeedCursor {
    pub(crate) txid: i64,
    pub(crate) seq: i64,
}

impl FeedCursor {
    /// Before the first event.
    pub const START: Self = Self { txid: 0, seq: 0 };

    /// Just after `event`.
    pub fn after(event: &LedgerEvent) -> Self {
        Self {
            txid: event.txid,
            seq: event.seq,
        }
    }
}

impl fmt::Display for FeedCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.txid, self.seq)
    }
}

impl FromStr for FeedCursor {
    type Err = BadCursor;

    fn from_str(s: &str) -> std::result::Result<Self, BadCursor> {
        let (txid, seq) = s.split_once('.').ok_or(BadCursor)?;
        Ok(Self {
            txid: number(txid)?,
            seq: number(seq)?,
        })
    }
}

/// Where a page of the list of logs ended: after the log `(scheduled_for, id)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogCursor {
    pub(crate) scheduled_for: DateTime<Utc>,
    pub(crate) id: String,
}

impl LogCursor {
    /// Just after `log`; `None` for a log without a time, which no list holds.
    pub fn after(log: &PublishLog) -> Option<Self> {
        Some(Self {
            scheduled_for: log.scheduled_for?,
            id: log.id.clone(),
        })
    }
}

/// The time in seconds since 1970, then the id's bytes in hex, so that any id stays one URL
/// query value.
impl fmt::Display for LogCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.", self.scheduled_for.timestamp())?;
        self.id.bytes().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl FromStr for LogCursor {
    type Err = BadCursor;

    fn from_str(s: &str) -> Result<Self, BadCursor> {
        let (seconds, hex) = s.split_once('.').ok_or(BadCursor)?;
        let seconds = number(seconds)?;
        if seconds > LAST_SECOND {
            return Err(BadCursor);
        }
        let scheduled_for = DateTime::from_timestamp(seconds, 0).ok_or(BadCursor)?;
        let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if hex.is_empty()
            || hex.len() % 2 != 0
            || hex.len() > 2 * MAX_ID_BYTES
            || !hex.bytes().all(lower_hex)
        {
            return Err(BadCursor);
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or(BadCursor)
            })
            .collect::<Result<Vec<u8>, BadCursor>>()?;
        // Any bytes are a position in the order (the document's pattern allows any hex): bytes
        // that are not UTF-8 read as the text with U+FFFD in their place, so such a cursor is
        // another spelling of a position this store writes. A NUL no database text can hold
        // is not a position.
        if bytes.contains(&0) {
            return Err(BadCursor);
        }
        let id = String::from_utf8_lossy(&bytes).into_owned();
        Ok(Self { scheduled_for, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_what_they_wrote_and_nothing_else() {
        let feed = FeedCursor { txid: 7, seq: 42 };
        assert_eq!(feed.to_string(), "7.42");
        assert_eq!("7.42".parse(), Ok(feed));
        assert_eq!("0.0".parse(), Ok(FeedCursor::START));
        for bad in [
            "",
            "7",
            "7.",
            ".4",
            "-1.2",
            "1.-2",
            "+1.2",
            "1.2.3",
            "a.b",
            "99999999999999999999.1",
            " 1.2",
            "00.0",
            "0.01",
            "1234567890123456789.0",
        ] {
            assert_eq!(bad.parse::<FeedCursor>(), Err(BadCursor), "{bad:?}");
        }
        let log = LogCursor {
            scheduled_for: DateTime::from_timestamp(1_900_000_000, 0).unwrap(),
            id: "a/b.é".to_owned(),
        };
        assert_eq!(log.to_string(), "1900000000.612f622ec3a9");
        assert_eq!(log.to_string().parse(), Ok(log));
        assert!("253402300799.61".parse::<LogCursor>().is_ok());
        for bad in [
            "",
            "1900000000",
            "1900000000.",
            "1900000000.6",
            "1900000000.zz",
            "x.61",
            "1900000000.6100",
            "1900000000.6C",
            "01900000000.61",
            "1900000000.6100",
            "253402300800.61",
        ] {
            assert_eq!(bad.parse::<LogCursor>(), Err(BadCursor), "{bad:?}");
        }
    }
}
