//! `GET /accounts/{id}/suggestions`: the best free slots of a span by the account's engagement
//! history (contract section 13).

use actix_web::{get, web};
use chrono::Utc;
use scheduler_core::{rfc3339, Basis, MAX_SPAN_DAYS};
use scheduler_store::MAX_SUGGESTIONS;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiResult, ErrorBody};
use crate::input::{
    check_text, filter_text, parse_time, path_id, query_number, Query, MAX_NAME_LEN,
};
use crate::openapi::Platform;
use crate::state::AppState;

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(suggestions);
}

/// `GET /accounts/{id}/suggestions`' query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestionsQuery {
    /// The account's platform; omitted: the account's. Another one is 422
    /// `platform_mismatch`.
    #[param(value_type = Option<Platform>)]
    pub platform: Option<String>,
    /// Where the span starts (RFC 3339); omitted: now. A span that began counts from now.
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// How many days the span lasts, 1 to 31; default 7.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 31)]
    pub days: Option<String>,
    /// How many slots to answer at most, 1 to 50; default 5.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 50)]
    pub count: Option<String>,
}

/// What a score rests on.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BasisOut {
    /// The account's published posts of the last 90 days, by local hour of the week, shrunk
    /// toward its platform's average across accounts.
    History,
    /// No history yet: the middle of the posting window is best.
    Default,
}

impl From<Basis> for BasisOut {
    fn from(basis: Basis) -> Self {
        match basis {
            Basis::History => Self::History,
            Basis::Default => Self::Default,
        }
    }
}

/// A free slot and how good it is.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"scheduled_for": "2030-06-07T00:00:00Z", "local_time": "2030-06-06T20:00:00", "score": 0.98, "basis": "history"}))]
pub struct SuggestionOut {
    /// The slot (RFC 3339, UTC), on the hour or the half hour: `POST /publishing/schedule`
    /// with it as `scheduled_for` keeps it, unless another post takes it first.
    #[schema(value_type = String, format = DateTime)]
    pub scheduled_for: String,
    /// The slot on the account's wall clock (`2030-06-06T20:00:00`).
    pub local_time: String,
    /// How good its local hour of the week is, from 0 to 1: 1 is the account's best hour.
    #[schema(minimum = 0, maximum = 1)]
    pub score: f64,
    /// What the score rests on.
    pub basis: BasisOut,
}

/// The best slots of a span.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionsOut {
    /// The account's zone, which `local_time` is in.
    pub timezone: String,
    /// Best first; earlier first among equal scores. Empty when no slot of the span is free.
    pub suggestions: Vec<SuggestionOut>,
}

/// The best times to post.
///
/// The `count` best free slots in `[from, from + days)`, on the hour or the half hour, each
/// valid under the platform's rules among the account's posts (inside the window, clear of the
/// gap and the daily cap), scored from the account's published posts of the last 90 days by
/// local hour of the week, shrunk toward its platform's average across accounts (`basis:
/// history`), or, without history, by how close the slot is to the middle of the window
/// (`basis: default`). `docs/decisions.md` ("Best time") states the score.
#[utoipa::path(
    tag = "accounts",
    params(
        ("id" = String, Path, description = "The account's id", min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"),
        SuggestionsQuery,
    ),
    responses(
        (status = 200, description = "The best slots, best first", body = SuggestionsOut),
        (status = 400, description = "A bad `from`, `days`, `count` or `platform` (`invalid_field`), or an unknown parameter (`unknown_field`)", body = ErrorBody),
        (status = 404, description = "No account has that id (`not_found`)", body = ErrorBody),
        (status = 422, description = "Another platform than the account's (`platform_mismatch`), an unknown platform (`unknown_platform`), a span that ended (`past_time`), a time outside the years 1970 to 9999 (`out_of_range`)", body = ErrorBody),
    )
)]
#[get("/accounts/{id}/suggestions")]
pub async fn suggestions(
    state: web::Data<AppState>,
    id: web::Path<String>,
    Query(query): Query<SuggestionsQuery>,
) -> ApiResult<web::Json<SuggestionsOut>> {
    let id = path_id("account", id)?;
    let platform = filter_text("platform", query.platform)?;
    if let Some(platform) = &platform {
        check_text("platform", platform, MAX_NAME_LEN)?;
        state.rules.known_platform(platform)?;
    }
    let from = match filter_text("from", query.from)? {
        Some(text) => Some(parse_time("from", &text)?),
        None => None,
    };
    let days = query_number("days", query.days, 7, MAX_SPAN_DAYS)?;
    let count = query_number("count", query.count, 5, MAX_SUGGESTIONS as u32)?;
    let found = state
        .read(move |conn, rules| {
            let now = Utc::now();
            let from = from.unwrap_or(now);
            let until = scheduler_core::span_end(from, days);
            Ok(scheduler_store::suggestions(
                conn,
                rules,
                &id,
                platform.as_deref(),
                (from, until),
                count as usize,
                now,
            )?)
        })
        .await?;
    let timezone = found.account.timezone;
    let suggestions = found
        .slots
        .into_iter()
        .map(|s| SuggestionOut {
            scheduled_for: rfc3339(s.at),
            local_time: scheduler_core::local_text(timezone.local(s.at)),
            score: s.score,
            basis: s.basis.into(),
        })
        .collect();
    Ok(web::Json(SuggestionsOut {
        timezone: timezone.name().to_owned(),
        suggestions,
    }))
}
