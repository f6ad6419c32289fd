//! A published post's engagement (contract section 13): `POST /publishing/logs/{id}/metrics`,
//! and `metrics` in `complete`. The latest snapshot is kept; best-time suggestions read them.

use actix_web::{post, web};
use chrono::{DateTime, TimeDelta, Utc};
use scheduler_store::Engagement;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{body, LOG_ID};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::input::{parse_opt_time, path_id, Body, Count};
use crate::routes::logs::LogOut;
use crate::state::AppState;

/// How far ahead of the server's clock a `measured_at` may be (clocks differ a little).
const CLOCK_SKEW: TimeDelta = TimeDelta::seconds(60);

/// A post's figures as the platform reports them; each may be left out.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"views": 12400, "likes": 830, "comments": 41, "shares": 17, "measured_at": "2030-06-16T23:00:00Z"}))]
pub struct MetricsIn {
    /// Views (plays, impressions: what the platform counts as seen).
    #[schema(value_type = Option<u64>, minimum = 0)]
    pub views: Option<Count>,
    /// Likes.
    #[schema(value_type = Option<u64>, minimum = 0)]
    pub likes: Option<Count>,
    /// Comments.
    #[schema(value_type = Option<u64>, minimum = 0)]
    pub comments: Option<Count>,
    /// Shares.
    #[schema(value_type = Option<u64>, minimum = 0)]
    pub shares: Option<Count>,
    /// When they were read (RFC 3339); omitted: now. Not in the future.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub measured_at: Option<String>,
}

impl MetricsIn {
    /// The snapshot to store, or 422 for a `measured_at` in the future or out of range.
    pub fn parse(self, now: DateTime<Utc>) -> Result<Engagement, ApiError> {
        let measured_at =
            parse_opt_time("measured_at", self.measured_at.as_deref())?.unwrap_or(now);
        if measured_at > now + CLOCK_SKEW {
            return Err(ApiError::unacceptable(
                "measured_at must not be in the future",
            ));
        }
        let count = |c: Option<Count>| c.map(|Count(n)| n);
        Ok(Engagement {
            views: count(self.views),
            likes: count(self.likes),
            comments: count(self.comments),
            shares: count(self.shares),
            measured_at,
        })
    }
}

/// A post's latest figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricsOut {
    /// Views, if reported.
    pub views: Option<u64>,
    /// Likes, if reported.
    pub likes: Option<u64>,
    /// Comments, if reported.
    pub comments: Option<u64>,
    /// Shares, if reported.
    pub shares: Option<u64>,
    /// When they were read (RFC 3339, UTC, whole seconds).
    #[schema(value_type = String, format = DateTime)]
    pub measured_at: String,
}

impl From<Engagement> for MetricsOut {
    fn from(e: Engagement) -> Self {
        Self {
            views: e.views,
            likes: e.likes,
            comments: e.comments,
            shares: e.shares,
            measured_at: scheduler_core::rfc3339(e.measured_at),
        }
    }
}

/// Report a published post's engagement.
///
/// The latest snapshot is kept: one measured before the stored one changes nothing. Only a
/// `published` post has engagement. The account's best-time suggestions read these figures.
#[utoipa::path(
    tag = "publishing",
    request_body = MetricsIn,
    params(("id" = String, Path, description = LOG_ID, min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$")),
    responses(
        (status = 200, description = "The log with its latest figures", body = LogOut),
        (status = 400, description = "Malformed JSON (`malformed_json`), a wrong type such as a negative count (`invalid_field`) or an unknown field (`unknown_field`)", body = ErrorBody),
        (status = 404, description = "No log has that id (`not_found`)", body = ErrorBody),
        (status = 409, description = "The log is not published (`invalid_state`)", body = ErrorBody),
        (status = 422, description = "A `measured_at` in the future or outside the years 1970 to 9999 (`invalid_field`, `out_of_range`)", body = ErrorBody),
    )
)]
#[post("/publishing/logs/{id}/metrics")]
pub async fn record_metrics(
    state: web::Data<AppState>,
    id: web::Path<String>,
    Body(raw): Body,
) -> ApiResult<web::Json<LogOut>> {
    let input: MetricsIn = body(&raw)?;
    let engagement = input.parse(Utc::now())?;
    let id = path_id("publish log", id)?;
    let log = state
        .write(move |conn, _| Ok(scheduler_store::record_engagement(conn, &id, &engagement)?))
        .await?;
    Ok(web::Json(log.try_into()?))
}
