//! The calendar (contract section 11): an account's iCalendar feed, for Google Calendar or
//! Outlook to subscribe to with the account's read-only key.

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use chrono::{TimeDelta, Utc};
use icalendar::{Calendar, Component, EventLike, EventStatus};
use scheduler_core::{latest_supported, rfc3339};
use scheduler_store::calendar_feed::MAX_CALENDAR_POSTS;
use scheduler_store::{CalendarFilter, CalendarPost, Status, StoreError};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::input::{filter_text, parse_time, path_id, Query};
use crate::openapi::Platform;
use crate::routes::logs::platform_and_status;
use crate::state::AppState;

/// This module's routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(account_calendar).service(calendar_events);
}

/// How far back the feed shows posts.
const FEED_PAST: TimeDelta = TimeDelta::days(90);

/// How long a post lasts in a calendar: a post is a moment, shown as a short event.
const POST_LENGTH: TimeDelta = TimeDelta::minutes(15);

/// The statuses the feed shows: what is planned, under way or out.
const FEED_STATUSES: [Status; 4] = [
    Status::Scheduled,
    Status::Pending,
    Status::Processing,
    Status::Published,
];

/// The feed's query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedKey {
    /// The account's `calendar_key` (from `GET /accounts/{id}`).
    #[param(max_length = 128, pattern = r"^[\x21-\x7e]*$")]
    pub key: Option<String>,
}

/// An account's posts as an iCalendar feed.
///
/// RFC 5545 text for a calendar program to subscribe to: the account's scheduled, pending,
/// processing and published posts from 90 days ago on, each a 15-minute event at its time
/// with a stable `UID` (`<log id>@publishing-scheduler`), a `SEQUENCE` that grows each time
/// its time changes, and cancelled posts left out. Needs no bearer token: the account's
/// `calendar_key` opens it, and shows nothing else.
#[utoipa::path(
    tag = "calendar",
    security(()),
    params(
        ("id" = String, Path, description = "The account's id", min_length = 1, max_length = 128, pattern = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"),
        FeedKey,
    ),
    responses(
        (status = 200, description = "The feed", content_type = "text/calendar", body = String),
        (status = 400, description = "An unknown query parameter (`unknown_field`) or `key` given twice (`invalid_field`)", body = ErrorBody),
        (status = 404, description = "No account has that id, or the key is not its key (`not_found`)", body = ErrorBody),
    )
)]
#[get("/accounts/{id}/calendar.ics")]
pub async fn account_calendar(
    state: web::Data<AppState>,
    id: web::Path<String>,
    Query(query): Query<FeedKey>,
) -> ApiResult<HttpResponse> {
    // One answer for an unknown account and a wrong key: the feed tells nobody which accounts
    // exist.
    let hidden = || ApiError::not_found("no calendar feed at this address");
    let id = path_id("account", id).map_err(|_| hidden())?;
    let key = query.key.ok_or_else(hidden)?;
    let now = Utc::now();
    let found = state
        .read(move |conn, _| {
            let account = match scheduler_store::get_account(conn, &id) {
                Ok(account) => account,
                Err(StoreError::NotFound { .. }) => return Ok(None),
                Err(other) => return Err(other.into()),
            };
            let own = account.calendar_key.as_deref().unwrap_or_default();
            // In constant time: how long a wrong key takes must not tell how much was right.
            if own.is_empty() || !bool::from(own.as_bytes().ct_eq(key.as_bytes())) {
                return Ok(None);
            }
            // The coming posts first, then as much of the last 90 days as the cap leaves:
            // what is ahead matters most.
            let filter = |from, to, limit| CalendarFilter {
                accounts: vec![account.id.clone()],
                // The account's one platform: its posts' index range by time.
                platform: Some(account.platform.clone()),
                statuses: FEED_STATUSES.to_vec(),
                from,
                to,
                limit,
            };
            let ahead = filter(now, latest_supported(), MAX_CALENDAR_POSTS);
            let ahead = scheduler_store::calendar_posts(conn, &ahead)?;
            let room = MAX_CALENDAR_POSTS - ahead.len() as i64;
            let mut posts =
                scheduler_store::calendar_posts(conn, &filter(now - FEED_PAST, now, room))?;
            posts.extend(ahead);
            Ok(Some((account, posts)))
        })
        .await?;
    let (account, posts) = found.ok_or_else(hidden)?;
    let name = format!(
        "{} on {}",
        account.handle.as_deref().unwrap_or(&account.id),
        account.platform
    );
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/calendar; charset=utf-8"))
        // Calendar programs poll it; no cache may keep this key's answer for others or serve
        // a stale copy.
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .body(feed(&name, &posts, now).to_string()))
}

/// The calendar named `name` holding `posts`, as written at `now`.
fn feed(name: &str, posts: &[CalendarPost], now: chrono::DateTime<Utc>) -> Calendar {
    let mut calendar = Calendar::empty();
    for (key, value) in [
        ("VERSION", "2.0"),
        ("PRODID", "-//publishing-scheduler//calendar feed//EN"),
        ("CALSCALE", "GREGORIAN"),
        ("METHOD", "PUBLISH"),
    ] {
        calendar.append_property(icalendar::Property::new(key, value));
    }
    // The crate escapes `X-WR-CALNAME` as text but writes `NAME` as it is: escaped here.
    let name = clean(name);
    calendar.append_property(icalendar::Property::new("NAME", escaped(&name)));
    calendar.append_property(icalendar::Property::new("X-WR-CALNAME", &name));
    // RFC 7986's REFRESH-INTERVAL and its widespread forerunner: how often to poll.
    calendar.ttl(&TimeDelta::minutes(15));
    for post in posts {
        calendar.push(event(post, now));
    }
    calendar.done()
}

/// `text` with line breaks as `\n` only and no other control character: a carriage return,
/// which the crate would write as it is, must not end a content line and start another.
fn clean(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect()
}

/// RFC 5545's TEXT escaping (3.3.11), for a property the crate writes as it is.
fn escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// One post as a `VEVENT`.
fn event(post: &CalendarPost, now: chrono::DateTime<Utc>) -> icalendar::Event {
    let log = &post.log;
    // Every log the feed selects has a time (it selects by it).
    let at = log.scheduled_for.unwrap_or(log.created_at);
    let title = post.clip_title.as_deref().unwrap_or(&log.clip_id);
    let summary = match log.status {
        Status::Scheduled => format!("{}: {title}", log.platform),
        other => format!("{}: {title} ({other})", log.platform),
    };
    let local = post.timezone.local(at);
    let mut description = vec![
        format!("Status: {}", log.status),
        format!(
            "At {} in {} ({})",
            local.format("%H:%M"),
            post.timezone,
            rfc3339(at)
        ),
        format!("Account: {}", log.social_account_id),
        format!("Post: {}", log.id),
    ];
    if let Some(reason) = &log.reason {
        description.push(format!("Reason: {reason}"));
    }
    if let Some(series) = &log.series_id {
        description.push(format!("Series: {series}"));
    }
    let mut event = icalendar::Event::new();
    event
        .uid(&format!("{}@publishing-scheduler", log.id))
        // With METHOD:PUBLISH, when the feed was written; the post's own change is
        // LAST-MODIFIED.
        .timestamp(now)
        .last_modified(log.updated_at)
        .sequence(post.sequence)
        .starts(at)
        .ends(at + POST_LENGTH)
        .summary(&clean(&summary))
        .description(&clean(&description.join("\n")))
        .status(if log.status == Status::Published {
            EventStatus::Confirmed
        } else {
            EventStatus::Tentative
        })
        // A post takes nobody's time: it must not show as busy.
        .add_property("TRANSP", "TRANSPARENT");
    // Only a permalink that is one URI (the crate writes it as it is).
    if let Some(permalink) = log
        .permalink
        .as_deref()
        .filter(|p| !p.is_empty() && !p.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        event.url(permalink);
    }
    event.done()
}

/// The most posts `GET /calendar/events` answers.
const MAX_EVENTS: i64 = MAX_CALENDAR_POSTS - 1;

/// The longest span `GET /calendar/events` answers for: a month view and its edges, with room.
const MAX_SPAN: TimeDelta = TimeDelta::days(62);

/// `GET /calendar/events`'s query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Posts at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub start: String,
    /// Posts before this time (RFC 3339); after `start`, at most 62 days.
    #[param(format = DateTime)]
    pub end: String,
    /// Only these accounts' posts: one id, or several separated by commas (at most 100).
    #[param(max_length = 12900, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub social_account_id: Option<String>,
    /// Only this platform's posts.
    #[param(value_type = Option<Platform>)]
    pub platform: Option<String>,
    /// Only posts with this status.
    #[param(value_type = Option<Status>)]
    pub status: Option<String>,
}

/// The most accounts one `GET /calendar/events` filters by.
const MAX_FILTER_ACCOUNTS: usize = 100;

/// `social_account_id` of `GET /calendar/events`: ids separated by commas, none empty, at most
/// [`MAX_FILTER_ACCOUNTS`]; absent or empty: every account.
fn account_list(value: Option<String>) -> Result<Vec<String>, ApiError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(Vec::new());
    };
    let ids: Vec<String> = value.split(',').map(str::to_owned).collect();
    if ids.len() > MAX_FILTER_ACCOUNTS {
        return Err(ApiError::bad_field(format!(
            "social_account_id takes at most {MAX_FILTER_ACCOUNTS} accounts"
        )));
    }
    ids.into_iter()
        .map(|id| {
            filter_text("social_account_id", Some(id))?
                .ok_or_else(|| ApiError::bad_field("social_account_id must not hold an empty id"))
        })
        .collect()
}

/// A post as the calendar page shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarEventOut {
    /// The post's log id.
    #[schema(max_length = 128)]
    pub id: String,
    /// The clip's title, or its id when it has none.
    pub title: String,
    /// When it is published (RFC 3339, UTC).
    #[schema(value_type = String, format = DateTime)]
    pub start: String,
    /// Where it stands.
    #[schema(value_type = Status)]
    pub status: String,
    /// The platform.
    #[schema(value_type = Platform)]
    pub platform: String,
    /// The account.
    #[schema(max_length = 128)]
    pub social_account_id: String,
    /// The clip.
    #[schema(max_length = 128)]
    pub clip_id: String,
    /// The account's zone.
    pub timezone: String,
    /// The post's time on the account's wall clock (`2030-06-15T19:00:00`).
    pub local_time: String,
    /// Why its time differs from the one asked for, or `Scheduled as requested`.
    pub reason: Option<String>,
    /// The recurring series it was made for.
    #[schema(max_length = 128)]
    pub series_id: Option<String>,
    /// Whether it can be moved or cancelled: only `scheduled` posts can.
    pub editable: bool,
}

/// The posts of a span, for the calendar page.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarEvents {
    /// By time, then id.
    pub events: Vec<CalendarEventOut>,
    /// Whether more posts fall in the span than the 9,999 answered (the earliest).
    pub truncated: bool,
}

/// The posts of a span, for a calendar.
///
/// Every post (every status) whose time falls in `[start, end)`, at most 62 days, with its
/// clip's title and its time on the account's wall clock: what the calendar page shows.
#[utoipa::path(
    tag = "calendar",
    params(EventsQuery),
    responses(
        (status = 200, description = "The span's posts", body = CalendarEvents),
        (status = 400, description = "A missing or bad `start` or `end`, a bad filter (`invalid_field`), or an unknown parameter (`unknown_field`)", body = ErrorBody),
        (status = 422, description = "An `end` not after `start` or more than 62 days after it (`invalid_field`), a time outside the years 1970 to 9999 (`out_of_range`)", body = ErrorBody),
    )
)]
#[get("/calendar/events")]
pub async fn calendar_events(
    state: web::Data<AppState>,
    Query(query): Query<EventsQuery>,
) -> ApiResult<web::Json<CalendarEvents>> {
    let start = parse_time("start", &query.start)?;
    let end = parse_time("end", &query.end)?;
    if end <= start || end - start > MAX_SPAN {
        return Err(ApiError::unacceptable(
            "end must be after start, at most 62 days later",
        ));
    }
    let (platform, status) = platform_and_status(&state.rules, query.platform, query.status)?;
    let filter = CalendarFilter {
        accounts: account_list(query.social_account_id)?,
        platform,
        statuses: status.into_iter().collect(),
        from: start,
        to: end,
        // One more than answered, to know whether there were more.
        limit: MAX_EVENTS + 1,
    };
    let posts = state
        .read(move |conn, _| Ok(scheduler_store::calendar_posts(conn, &filter)?))
        .await?;
    let truncated = posts.len() as i64 > MAX_EVENTS;
    let events = posts
        .into_iter()
        .take(MAX_EVENTS as usize)
        .map(|p| {
            let at = p.log.scheduled_for.unwrap_or(p.log.created_at);
            CalendarEventOut {
                title: p.clip_title.unwrap_or_else(|| p.log.clip_id.clone()),
                start: rfc3339(at),
                status: p.log.status.to_string(),
                platform: p.log.platform.to_string(),
                timezone: p.timezone.to_string(),
                local_time: scheduler_core::local_text(p.timezone.local(at)),
                editable: p.log.status == Status::Scheduled,
                id: p.log.id,
                social_account_id: p.log.social_account_id,
                clip_id: p.log.clip_id,
                reason: p.log.reason,
                series_id: p.log.series_id,
            }
        })
        .collect();
    Ok(web::Json(CalendarEvents { events, truncated }))
}
