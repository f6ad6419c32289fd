//! A series as the API reads and answers it: the bodies, the answer, and the checks that
//! turn a body into the store's types.

use actix_web::http::StatusCode;
use chrono::NaiveDateTime;
use scheduler_core::{local_text, parse_local, rfc3339, LocalTimeError, Rrule, RuleSet};
use scheduler_store::series::MAX_EXDATES;
use scheduler_store::{NewSeries, ScheduledBy, SeriesStatus, SeriesView, Status};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorCode};
use crate::input::from_value;
use crate::openapi::Platform;
use crate::routes::schedule::check_target;

/// A series to make.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"clip_id": "clip_demo", "social_account_id": "acc_demo", "platform": "instagram", "dtstart": "2027-03-01T18:30:00", "rrule": "FREQ=WEEKLY;BYDAY=MO,TH", "exdates": ["2027-03-11T18:30:00"]}))]
pub struct SeriesIn {
    /// The clip every occurrence publishes.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub clip_id: String,
    /// The account to publish on.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub social_account_id: String,
    /// The platform; it must be the account's.
    #[schema(value_type = Platform)]
    pub platform: String,
    /// The first occurrence: a local date-time without offset, read in the account's zone.
    #[schema(
        example = "2027-03-01T18:30:00",
        pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"
    )]
    pub dtstart: String,
    /// RFC 5545's RRULE (the `RRULE:` prefix optional): `FREQ` `DAILY`, `WEEKLY` or
    /// `MONTHLY`, `INTERVAL`, `BYDAY` (`MO`; with `MONTHLY` also `1MO`, `-1FR`), `BYMONTHDAY`,
    /// `BYHOUR`, `BYMINUTE`, `COUNT`, `UNTIL`, `WKST`. Any other part is 422 naming it.
    #[schema(example = "FREQ=WEEKLY;BYDAY=MO,TH", min_length = 1, max_length = 1024)]
    pub rrule: String,
    /// Local date-times removed from the set (at most 1,000).
    #[schema(value_type = Option<Vec<String>>, max_items = 1000)]
    pub exdates: Option<Vec<String>>,
    /// Who asks; omitted: `manual`.
    #[schema(value_type = Option<ScheduledBy>)]
    pub scheduled_by: Option<String>,
    /// Its occurrences' priority: `low`, `normal` (omitted) or `high`. Claims and ticks take
    /// higher first; occurrences never displace other posts (only a schedule request does).
    #[schema(value_type = Option<crate::openapi::Priority>)]
    pub priority: Option<String>,
}

/// A change of a series' rule: each field given replaces the series' own.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"rrule": "FREQ=WEEKLY;BYDAY=TU,FR"}))]
pub struct SeriesChangeIn {
    /// A new first occurrence (local date-time without offset).
    #[schema(
        example = "2027-03-02T19:00:00",
        pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"
    )]
    pub dtstart: Option<String>,
    /// A new rule.
    #[schema(min_length = 1, max_length = 1024)]
    pub rrule: Option<String>,
    /// The new excluded dates, all of them (an empty list removes every one).
    #[schema(value_type = Option<Vec<String>>, max_items = 1000)]
    pub exdates: Option<Vec<String>>,
}

/// One of a series' next occurrences.
#[derive(Debug, Serialize, ToSchema)]
pub struct OccurrenceOut {
    /// The local date-time the rule gives, in the account's zone.
    #[schema(example = "2027-03-01T18:30:00")]
    pub occurrence: String,
    /// When that is (RFC 3339, UTC).
    #[schema(value_type = String, format = DateTime)]
    pub occurrence_at: String,
    /// Its slot: the made log's, or where the rules would put it now; null when no slot fits.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_for: Option<String>,
    /// Why the slot differs from the occurrence (`Scheduled as requested` when it does not),
    /// or why there is none.
    pub reason: String,
    /// The log made for it; null while it lies beyond the horizon.
    #[schema(max_length = 128)]
    pub publish_log_id: Option<String>,
    /// That log's status; null while none is made.
    #[schema(value_type = Option<Status>)]
    pub status: Option<String>,
}

/// A recurring series.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "ser_0193a1b2c3d4e5f6a7b8c9d0e1f2a3b4", "clip_id": "clip_demo", "social_account_id": "acc_demo",
    "platform": "instagram", "timezone": "America/New_York", "dtstart": "2027-03-01T18:30:00",
    "rrule": "FREQ=WEEKLY;BYDAY=MO,TH", "exdates": [], "scheduled_by": "manual", "priority": "normal", "status": "active",
    "created_at": "2027-02-20T10:00:00Z", "updated_at": "2027-02-20T10:00:00Z",
    "next_occurrences": [{"occurrence": "2027-03-01T18:30:00", "occurrence_at": "2027-03-01T23:30:00Z",
        "scheduled_for": "2027-03-01T23:30:00Z", "reason": "Scheduled as requested",
        "publish_log_id": "log_0193a1b2c3d4e5f6a7b8c9d0e1f2a3b5", "status": "scheduled"}]
}))]
pub struct SeriesOut {
    /// `ser_…`.
    #[schema(min_length = 1, max_length = 128)]
    pub id: String,
    /// The clip.
    #[schema(max_length = 128)]
    pub clip_id: String,
    /// The account.
    #[schema(max_length = 128)]
    pub social_account_id: String,
    /// The account's platform.
    #[schema(value_type = Platform)]
    pub platform: String,
    /// The account's zone (IANA), in which `dtstart`, `exdates` and occurrences are read.
    pub timezone: String,
    /// The first occurrence, local.
    pub dtstart: String,
    /// The rule, written back in a fixed order without the `RRULE:` prefix.
    pub rrule: String,
    /// Excluded local date-times, sorted.
    pub exdates: Vec<String>,
    /// Who asked.
    #[schema(value_type = ScheduledBy)]
    pub scheduled_by: String,
    /// Its occurrences' priority.
    #[schema(value_type = crate::openapi::Priority)]
    pub priority: String,
    /// `active`, or `cancelled` (no more occurrences are made).
    #[schema(value_type = SeriesStatus)]
    pub status: String,
    /// When it was made.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
    /// When its rule last changed, or it was cancelled.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: String,
    /// The next 10 occurrences from now: made ones as their logs stand, later ones planned
    /// among the account's posts as they are now. Empty once cancelled or ended.
    pub next_occurrences: Vec<OccurrenceOut>,
}

impl From<SeriesView> for SeriesOut {
    fn from(v: SeriesView) -> Self {
        let s = v.series;
        Self {
            id: s.id,
            clip_id: s.clip_id,
            social_account_id: s.social_account_id,
            platform: s.platform.to_string(),
            timezone: v.timezone.to_string(),
            dtstart: local_text(s.dtstart),
            rrule: s.rule.to_string(),
            exdates: s.exdates.iter().map(|t| local_text(*t)).collect(),
            scheduled_by: s.scheduled_by.to_string(),
            priority: s.priority.to_string(),
            status: s.status.to_string(),
            created_at: rfc3339(s.created_at),
            updated_at: rfc3339(s.updated_at),
            next_occurrences: v
                .next_occurrences
                .into_iter()
                .map(|o| OccurrenceOut {
                    occurrence: local_text(o.occurrence),
                    occurrence_at: rfc3339(o.occurrence_at),
                    scheduled_for: o.scheduled_for.map(rfc3339),
                    reason: o.reason,
                    publish_log_id: o.log.as_ref().map(|(id, _)| id.clone()),
                    status: o.log.map(|(_, status)| status.to_string()),
                })
                .collect(),
        }
    }
}

/// A page of series.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesList {
    /// Oldest first.
    pub items: Vec<SeriesOut>,
    /// Pass it as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A local date-time field: 422 `invalid_field` unless it is one (`out_of_range` outside the
/// years 1970 to 9999).
pub(super) fn local(field: &str, text: &str) -> Result<NaiveDateTime, ApiError> {
    parse_local(text).map_err(|e| {
        let code = match e {
            LocalTimeError::Malformed => ErrorCode::InvalidField,
            LocalTimeError::OutOfRange => ErrorCode::OutOfRange,
        };
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            format!("{field}: {e}, got {:?}", scheduler_core::shown(text)),
        )
    })
}

pub(super) fn rule(text: &str) -> Result<Rrule, ApiError> {
    text.parse()
        .map_err(|e: scheduler_core::RruleError| ApiError::unacceptable(format!("rrule: {e}")))
}

pub(super) fn exdates(texts: &[String]) -> Result<Vec<NaiveDateTime>, ApiError> {
    if texts.len() > MAX_EXDATES {
        return Err(ApiError::unacceptable(format!(
            "exdates holds at most {MAX_EXDATES} date-times, got {}",
            texts.len()
        )));
    }
    texts.iter().map(|t| local("exdates", t)).collect()
}

/// Checks a series request; every error is a 400 or 422.
pub(super) fn parse_series(rules: &RuleSet, value: Value) -> Result<NewSeries, ApiError> {
    let input: SeriesIn = from_value(value)?;
    let scheduled_by = check_target(
        rules,
        (&input.clip_id, &input.social_account_id, &input.platform),
        input.scheduled_by.as_deref(),
    )?;
    Ok(NewSeries {
        dtstart: local("dtstart", &input.dtstart)?,
        rule: rule(&input.rrule)?,
        exdates: exdates(input.exdates.as_deref().unwrap_or_default())?,
        clip_id: input.clip_id,
        social_account_id: input.social_account_id,
        platform: input.platform,
        scheduled_by,
        priority: crate::routes::schedule::parse_priority(input.priority.as_deref())?,
    })
}
