//! The rule set: the rules of every platform the scheduler knows and the search horizon, from
//! the seed's defaults and a TOML rules file merged over them.

use std::collections::BTreeMap;

use serde::Deserialize;
use thiserror::Error;

use crate::platform::Platform;
use crate::retry::RetryPolicy;
use crate::rules::{DailyCap, Horizon, MinGap, PlatformRules, RuleError, SeriesHorizon, Window};

/// Why a rules file was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RulesError {
    /// Not TOML, or a field of the wrong type, or an unknown field.
    #[error("{0}")]
    Syntax(String),
    /// A platform table that is invalid.
    #[error("platform `{platform}`: {error}")]
    Platform {
        /// The platform as written in the file.
        platform: String,
        /// The field and what is wrong with it.
        error: RuleError,
    },
    /// A top-level field that is invalid.
    #[error("{0}")]
    Global(RuleError),
}

/// The rules of every platform the scheduler knows, and the search horizon.
///
/// [`RuleSet::default`] holds the seed's three platforms; [`RuleSet::from_toml`] merges a rules
/// file over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    platforms: BTreeMap<Platform, PlatformRules>,
    horizon: Horizon,
    series_horizon: SeriesHorizon,
}

impl Default for RuleSet {
    /// The seed's rules: Instagram 18–23 h and 60 min, TikTok 16–24 h and 30 min, YouTube
    /// 17–22 h and 90 min, no daily cap, a 365-day horizon, series made 14 days ahead.
    fn default() -> Self {
        let rules = |s, e, gap| PlatformRules {
            window: Window::new(s, e).expect("seed window is valid"),
            min_gap: MinGap::from_minutes(gap).expect("seed gap is valid"),
            daily_cap: None,
            retry: RetryPolicy::default(),
        };
        let platforms = BTreeMap::from([
            (Platform::instagram(), rules(18, 23, 60)),
            (Platform::tiktok(), rules(16, 24, 30)),
            (Platform::youtube(), rules(17, 22, 90)),
        ]);
        Self {
            platforms,
            horizon: Horizon::default(),
            series_horizon: SeriesHorizon::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    max_horizon_days: Option<i64>,
    series_horizon_days: Option<i64>,
    #[serde(default)]
    platforms: BTreeMap<String, PlatformTable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlatformTable {
    start_hour: Option<i64>,
    end_hour: Option<i64>,
    min_gap_minutes: Option<i64>,
    max_posts_per_day: Option<i64>,
    max_attempts: Option<i64>,
    retry_base_seconds: Option<i64>,
}

/// Narrows a TOML integer to the rule's type, naming the field when it does not fit.
fn narrow<T: TryFrom<i64>>(field: &'static str, value: i64, range: &str) -> Result<T, RuleError> {
    T::try_from(value).map_err(|_| RuleError::out_of_range(field, value, range))
}

impl PlatformTable {
    /// These fields over `base` (the platform's current rules, if it has any).
    fn merge(&self, base: Option<PlatformRules>) -> Result<PlatformRules, RuleError> {
        let required = |field: &'static str, value: Option<i64>, current: Option<i64>| {
            value.or(current).ok_or(RuleError {
                field,
                problem: "is required for a platform without default rules".into(),
            })
        };
        let start = required(
            "start_hour",
            self.start_hour,
            base.map(|b| i64::from(b.window.start_hour())),
        )?;
        let end = required(
            "end_hour",
            self.end_hour,
            base.map(|b| i64::from(b.window.end_hour())),
        )?;
        let gap = required(
            "min_gap_minutes",
            self.min_gap_minutes,
            base.map(|b| i64::from(b.min_gap.minutes())),
        )?;
        let window = Window::new(
            narrow("start_hour", start, "0..=23")?,
            narrow("end_hour", end, "1..=24")?,
        )?;
        let min_gap = MinGap::from_minutes(narrow("min_gap_minutes", gap, "0..=10080")?)?;
        let daily_cap = match self.max_posts_per_day {
            Some(n) => Some(DailyCap::new(narrow("max_posts_per_day", n, "1..=1440")?)?),
            None => base.and_then(|b| b.daily_cap),
        };
        let base_retry = base.map(|b| b.retry).unwrap_or_default();
        let retry = RetryPolicy::new(
            narrow(
                "max_attempts",
                self.max_attempts
                    .unwrap_or(i64::from(base_retry.max_attempts())),
                "1..=100",
            )?,
            narrow(
                "retry_base_seconds",
                self.retry_base_seconds
                    .unwrap_or(i64::from(base_retry.base_seconds())),
                "1..=21600",
            )?,
        )?;
        Ok(PlatformRules {
            window,
            min_gap,
            daily_cap,
            retry,
        })
    }
}

impl RuleSet {
    /// The seed's rules with a rules file merged over them. A platform the file names takes the
    /// fields it gives and keeps its default for the others (a new platform must give
    /// `start_hour`, `end_hour` and `min_gap_minutes`); platforms it does not name keep their
    /// defaults.
    ///
    /// ```toml
    /// max_horizon_days = 365    # optional, 1..=3650
    /// series_horizon_days = 14  # optional, 1..=365: how far ahead series become posts
    ///
    /// [platforms.instagram]
    /// start_hour = 18           # 0..=23
    /// end_hour = 23             # 1..=24; start_hour > end_hour crosses midnight
    /// min_gap_minutes = 60      # 0..=10080
    /// max_posts_per_day = 25    # optional, 1..=1440
    /// max_attempts = 5          # optional, 1..=100: attempts before a post fails for good
    /// retry_base_seconds = 60   # optional, 1..=21600: the backoff after the first attempt
    /// ```
    pub fn from_toml(text: &str) -> Result<Self, RulesError> {
        let file: RulesFile =
            toml::from_str(text).map_err(|e| RulesError::Syntax(e.to_string()))?;
        let mut rules = Self::default();
        if let Some(days) = file.max_horizon_days {
            let days = narrow("max_horizon_days", days, "1..=3650").map_err(RulesError::Global)?;
            rules.horizon = Horizon::from_days(days).map_err(RulesError::Global)?;
        }
        if let Some(days) = file.series_horizon_days {
            let days =
                narrow("series_horizon_days", days, "1..=365").map_err(RulesError::Global)?;
            rules.series_horizon = SeriesHorizon::from_days(days).map_err(RulesError::Global)?;
        }
        for (name, table) in &file.platforms {
            let at = |error| RulesError::Platform {
                platform: name.clone(),
                error,
            };
            let platform = Platform::parse(name).map_err(|e| {
                at(RuleError {
                    field: "name",
                    problem: e.to_string(),
                })
            })?;
            let merged = table
                .merge(rules.platforms.get(&platform).copied())
                .map_err(at)?;
            rules.platforms.insert(platform, merged);
        }
        Ok(rules)
    }

    /// The rules of one platform, if the scheduler knows it.
    pub fn get(&self, platform: &Platform) -> Option<&PlatformRules> {
        self.platforms.get(platform)
    }

    /// Adds or replaces one platform's rules.
    pub fn insert(&mut self, platform: Platform, rules: PlatformRules) {
        self.platforms.insert(platform, rules);
    }

    /// Every known platform with its rules, by name.
    pub fn platforms(&self) -> impl Iterator<Item = (&Platform, &PlatformRules)> {
        self.platforms.iter()
    }

    /// The search horizon.
    pub fn horizon(&self) -> Horizon {
        self.horizon
    }

    /// How far ahead series' occurrences are made into posts.
    pub fn series_horizon(&self) -> SeriesHorizon {
        self.series_horizon
    }
}
