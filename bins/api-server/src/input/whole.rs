//! Whole numbers in request bodies.

use serde::de;
use serde::{Deserialize, Deserializer};

/// A whole number of a body, read as JSON Schema's `integer` reads one: `76` and `76.0` alike
/// (a generated client may send either), never `76.5`, negative or beyond `u32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whole(pub u32);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let number = serde_json::Number::deserialize(deserializer)?;
        let whole = whole_number(&number, f64::from(u32::MAX)).and_then(|n| u32::try_from(n).ok());
        whole.map(Whole).ok_or_else(|| {
            de::Error::custom(format!(
                "invalid value: {number}, expected a whole number from 0 to {}",
                u32::MAX
            ))
        })
    }
}

/// A count of a body (views, likes…), read as [`Whole`] reads a number but up to `u64` (with
/// a zero fraction, up to 2^53).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // 2^53: the largest whole number a JSON reader's floating point holds exactly.
        let number = serde_json::Number::deserialize(deserializer)?;
        whole_number(&number, 9_007_199_254_740_992.0)
            .map(Count)
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "invalid value: {number}, expected a whole number from 0"
                ))
            })
    }
}

/// `number` as a whole number: an integer as it is, or a float with no fraction from 0 to
/// `largest_float` (`76.0` is JSON Schema's `integer` too); `None` for anything else.
fn whole_number(number: &serde_json::Number, largest_float: f64) -> Option<u64> {
    match (number.as_u64(), number.as_f64()) {
        (Some(n), _) => Some(n),
        (None, Some(f)) if f.fract() == 0.0 && (0.0..=largest_float).contains(&f) => Some(f as u64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{Count, Whole};

    #[test]
    fn counts_are_whole_and_not_negative() {
        let read = |text: &str| serde_json::from_str::<Count>(text).ok();
        assert_eq!(read("8"), Some(Count(8)));
        assert_eq!(read("8.0"), Some(Count(8)));
        assert_eq!(read("18446744073709551615"), Some(Count(u64::MAX)));
        for bad in ["8.5", "-1", "1e300", "\"7\"", "null"] {
            assert_eq!(read(bad), None, "{bad}");
        }
    }

    #[test]
    fn whole_numbers_may_be_written_with_a_zero_fraction() {
        let read = |text: &str| serde_json::from_str::<Whole>(text).ok();
        assert_eq!(read("76"), Some(Whole(76)));
        assert_eq!(read("76.0"), Some(Whole(76)));
        assert_eq!(read("4294967295"), Some(Whole(u32::MAX)));
        for bad in ["76.5", "-1", "4294967296", "1e10", "\"7\"", "null"] {
            assert_eq!(read(bad), None, "{bad}");
        }
    }
}
