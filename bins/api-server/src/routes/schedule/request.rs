//! The schedule request (`POST /publishing/schedule` and each batch item): its shape, and its
//! parsing into the store's [`NewSchedule`], every error a 400 or 422.

use scheduler_core::{Priority, RuleSet, BEST_WITHIN_DAYS, MAX_SPAN_DAYS};
use scheduler_store::{NewSchedule, ScheduledBy, Strategy};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::input::{
    check_id, check_text, from_value, in_range, parse_opt_time, Whole, MAX_NAME_LEN,
};
use crate::openapi::Platform;

/// The seed's schedule request.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"clip_id": "clip_demo", "platform": "instagram", "social_account_id": "acc_demo", "scheduled_for": "2030-06-15T23:00:00Z"}))]
pub struct ScheduleIn {
    /// The clip to publish.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub clip_id: String,
    /// The platform; it must be the account's.
    #[schema(value_type = Platform)]
    pub platform: String,
    /// The account to publish on.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub social_account_id: String,
    /// When to publish (RFC 3339; without an offset, UTC); omitted or null: the next free slot
    /// from now. A time up to 60 seconds in the past is taken as now.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_for: Option<String>,
    /// The latest acceptable slot (RFC 3339, inclusive).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_window_end: Option<String>,
    /// Who asks; omitted: `manual`.
    #[schema(value_type = Option<ScheduledBy>)]
    pub scheduled_by: Option<String>,
    /// `low`, `normal` (omitted) or `high`. A `high` post may take the slot of lower-priority
    /// scheduled posts of the account, which move forward (contract section 12).
    #[schema(value_type = Option<crate::openapi::Priority>)]
    pub priority: Option<String>,
    /// `earliest` (omitted): the earliest valid slot from `scheduled_for` (or now); `best`: the
    /// best free slot by the account's engagement history (`GET
    /// /accounts/{id}/suggestions`' first) from `scheduled_for` (or now) for `within_days`
    /// days, not after `scheduled_window_end`. A best slot never displaces another post.
    #[schema(value_type = Option<crate::openapi::Strategy>)]
    pub strategy: Option<String>,
    /// With `strategy: "best"`: how many days to look in, 1 to 31; default 7.
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 31)]
    pub within_days: Option<Whole>,
}

/// Checks what every request to publish names (clip, account, platform: 422 for an id no row
/// can have or an unknown platform) and reads `scheduled_by` (default `manual`).
pub(crate) fn check_target(
    rules: &RuleSet,
    (clip_id, account_id, platform): (&str, &str, &str),
    scheduled_by: Option<&str>,
) -> Result<ScheduledBy, ApiError> {
    check_id("clip_id", clip_id)?;
    check_id("social_account_id", account_id)?;
    check_text("platform", platform, MAX_NAME_LEN)?;
    rules.known_platform(platform)?;
    match scheduled_by {
        None => Ok(ScheduledBy::Manual),
        Some(name) => name
            .parse()
            .map_err(|e: scheduler_store::models::UnknownValue| {
                ApiError::unacceptable(e.to_string())
            }),
    }
}

/// A request's `priority`: omitted, `normal`; otherwise one of the three names (422
/// `invalid_field`).
pub fn parse_priority(name: Option<&str>) -> Result<Priority, ApiError> {
    name.map_or(Ok(Priority::Normal), |name| {
        name.parse()
            .map_err(|e: scheduler_core::InvalidPriority| ApiError::unacceptable(e.to_string()))
    })
}

/// Checks one schedule request; every error is a 400 or 422.
pub(super) fn parse_request(rules: &RuleSet, value: Value) -> Result<NewSchedule, ApiError> {
    let input: ScheduleIn = from_value(value)?;
    let scheduled_by = check_target(
        rules,
        (&input.clip_id, &input.social_account_id, &input.platform),
        input.scheduled_by.as_deref(),
    )?;
    Ok(NewSchedule {
        scheduled_for: parse_opt_time("scheduled_for", input.scheduled_for.as_deref())?,
        scheduled_window_end: parse_opt_time(
            "scheduled_window_end",
            input.scheduled_window_end.as_deref(),
        )?,
        clip_id: input.clip_id,
        platform: input.platform,
        social_account_id: input.social_account_id,
        scheduled_by,
        priority: parse_priority(input.priority.as_deref())?,
        strategy: parse_strategy(input.strategy.as_deref(), input.within_days)?,
    })
}

/// A request's `strategy` and `within_days` (422 `invalid_field` for another name, a number of
/// days out of range, or days without `best`).
fn parse_strategy(name: Option<&str>, within_days: Option<Whole>) -> Result<Strategy, ApiError> {
    let best = match name.map(str::to_ascii_lowercase).as_deref() {
        None | Some("earliest") => false,
        Some("best") => true,
        Some(_) => {
            return Err(ApiError::unacceptable(format!(
                "strategy must be earliest or best, not {}",
                scheduler_core::shown(name.unwrap_or_default())
            )))
        }
    };
    match (best, within_days) {
        (false, None) => Ok(Strategy::Earliest),
        (false, Some(_)) => Err(ApiError::unacceptable(
            "within_days applies only to strategy best",
        )),
        (true, days) => Ok(Strategy::Best {
            within_days: in_range(
                "within_days",
                days.map_or(BEST_WITHIN_DAYS, |d| d.0),
                1..=MAX_SPAN_DAYS,
            )?,
        }),
    }
}
