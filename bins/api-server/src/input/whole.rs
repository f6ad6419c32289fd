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
        let whole = match (number.as_u64(), number.as_f64()) {
            (Some(n), _) => u32::try_from(n).ok(),
            (None, Some(f)) if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) => {
                Some(f as u32)
            }
            _ => None,
        };
        whole.map(Whole).ok_or_else(|| {
            de::Error::custom(format!(
                "invalid value: {number}, expected a whole number from 0 to {}",
                u32::MAX
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Whole;

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
