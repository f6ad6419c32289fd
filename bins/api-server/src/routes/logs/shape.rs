//! A publish log as the API shows it.

use scheduler_core::rfc3339;
use scheduler_store::{PublishLog, ScheduledBy, Status, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::openapi::{JustScheduled, Platform};

/// A publish log: one post of a clip on an account, and where it stands.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "log_e7da95c30ad54bfbb1e3a7f33ecfddf2", "clip_id": "clip_demo", "platform": "instagram",
    "social_account_id": "acc_demo", "status": "scheduled", "schedule_type": "scheduled",
    "scheduled_for": "2030-06-15T23:00:00Z", "scheduled_window_end": "2030-06-16T03:00:00Z",
    "scheduled_by": "manual", "created_at": "2026-11-28T21:55:15Z", "updated_at": "2026-11-28T21:55:15Z",
    "attempt": 0, "platform_post_id": null, "permalink": null, "last_error": null, "lease_expires_at": null,
    "series_id": null, "priority": "normal", "metrics": null
}))]
pub struct LogOut {
    /// `log_…`.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub id: String,
    /// The clip.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub clip_id: String,
    /// The platform.
    #[schema(value_type = Platform)]
    pub platform: String,
    /// The account.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub social_account_id: String,
    /// Where the post stands.
    #[schema(value_type = Status)]
    pub status: String,
    /// Always `scheduled`.
    #[schema(value_type = JustScheduled)]
    pub schedule_type: String,
    /// When to publish (RFC 3339, UTC, whole seconds).
    #[schema(value_type = String, format = DateTime)]
    pub scheduled_for: String,
    /// The latest acceptable time: the client's window end, or the end of the window holding
    /// the slot (null only for a log another program wrote without one).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_window_end: Option<String>,
    /// Who asked.
    #[schema(value_type = ScheduledBy)]
    pub scheduled_by: String,
    /// When it was created.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
    /// When it last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: String,
    /// How many times a worker claimed it since it was last planned by a person (0 before the
    /// first claim).
    #[schema(minimum = 0)]
    pub attempt: i32,
    /// The platform's id of the post, once published.
    #[schema(max_length = 128)]
    pub platform_post_id: Option<String>,
    /// The post's address on the platform, once published.
    pub permalink: Option<String>,
    /// What the last failed attempt reported (or why its lease ended).
    pub last_error: Option<String>,
    /// While `processing`: when the worker's lease ends.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub lease_expires_at: Option<String>,
    /// The recurring series it was made for; null for a post scheduled on its own.
    #[schema(max_length = 128)]
    pub series_id: Option<String>,
    /// `low`, `normal` or `high`: claims and ticks take higher first, and a `high` post may
    /// have displaced lower-priority ones.
    #[schema(value_type = crate::openapi::Priority)]
    pub priority: String,
    /// Its latest engagement figures, once published and reported.
    pub metrics: Option<crate::routes::publishing::engagement::MetricsOut>,
}

impl TryFrom<PublishLog> for LogOut {
    type Error = StoreError;

    /// Every log the API writes has both times; a row without a time was written by another
    /// program, and the API does not guess one (its window end is shown as null).
    fn try_from(l: PublishLog) -> Result<Self, StoreError> {
        let scheduled_for = l.scheduled_for.ok_or_else(|| {
            StoreError::Corrupt(format!("publish log {} has no scheduled_for", l.id))
        })?;
        Ok(Self {
            id: l.id,
            clip_id: l.clip_id,
            platform: l.platform.to_string(),
            social_account_id: l.social_account_id,
            status: l.status.to_string(),
            schedule_type: l.schedule_type,
            scheduled_for: rfc3339(scheduled_for),
            scheduled_window_end: l.scheduled_window_end.map(rfc3339),
            scheduled_by: l.scheduled_by.to_string(),
            created_at: rfc3339(l.created_at),
            updated_at: rfc3339(l.updated_at),
            attempt: l.attempt,
            platform_post_id: l.platform_post_id,
            permalink: l.permalink,
            last_error: l.last_error,
            lease_expires_at: l.lease_expires_at.map(rfc3339),
            series_id: l.series_id,
            priority: l.priority.to_string(),
            metrics: l
                .engagement
                .as_deref()
                .and_then(scheduler_store::Engagement::from_json)
                .map(Into::into),
        })
    }
}

/// Logs in the API's form.
pub(super) fn out(logs: Vec<PublishLog>) -> Result<Vec<LogOut>, StoreError> {
    logs.into_iter().map(LogOut::try_from).collect()
}
