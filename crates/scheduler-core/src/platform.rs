//! Platform names.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// The longest platform name accepted.
pub const MAX_PLATFORM_LEN: usize = 32;

/// A platform name such as `instagram`: 1 to 32 characters, lower-case ASCII letters, digits,
/// `_` or `-`, starting with a letter. Parsing lower-cases ASCII input, so `TikTok` is `tiktok`.
///
/// A `Platform` is only a well-formed name; whether the scheduler knows its rules is a question
/// for [`crate::RuleSet`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform(String);

/// Why a string is not a platform name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid platform name {name:?}: use 1 to {MAX_PLATFORM_LEN} characters, lower-case letters, digits, '_' or '-', starting with a letter")]
pub struct InvalidPlatform {
    /// The rejected input (cut to a readable length).
    pub name: String,
}

impl Platform {
    /// Parses and normalises a platform name.
    pub fn parse(input: &str) -> Result<Self, InvalidPlatform> {
        let name = input.to_ascii_lowercase();
        let well_formed = (1..=MAX_PLATFORM_LEN).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if well_formed {
            Ok(Self(name))
        } else {
            Err(InvalidPlatform {
                name: crate::shown(input),
            })
        }
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Instagram, one of the seed's three platforms.
    pub fn instagram() -> Self {
        Self("instagram".into())
    }

    /// TikTok, one of the seed's three platforms.
    pub fn tiktok() -> Self {
        Self("tiktok".into())
    }

    /// YouTube, one of the seed's three platforms.
    pub fn youtube() -> Self {
        Self("youtube".into())
    }
}

impl TryFrom<String> for Platform {
    type Error = InvalidPlatform;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl FromStr for Platform {
    type Err = InvalidPlatform;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Platform {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
