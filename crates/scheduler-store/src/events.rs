//! Writing the ledger: the event types, one typed metadata definition per type, and the
//! inserts, kept prepared on each backend. Every state change of a publish log writes its event
//! in the same transaction.
//!
//! Long because each event type's metadata is declared here, once, beside the inserts that
//! write them all: a new event type is one struct and one line.

use std::convert::identity;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Timestamp};
use scheduler_core::rfc3339;
use serde::{Serialize, Serializer};

use crate::conn::Conn;
use crate::models::stored_names;
use crate::new_ordered_id;
use crate::schema::ledger_events;

stored_names! {
    /// The types of the ledger's events.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum EventType in "event_type" {
        /// A log was scheduled.
        Created = "publish_scheduled_created",
        /// Its scheduled time differs from the requested one.
        Adjusted = "publish_scheduled_adjusted",
        /// The tick moved a due log to `pending`.
        Enqueued = "publish_scheduled_enqueued",
        /// A scheduled log was cancelled.
        Cancelled = "publish_scheduled_cancelled",
        /// A scheduled log was planned again.
        Rescheduled = "publish_scheduled_rescheduled",
        /// A worker claimed a pending log.
        Claimed = "publish_claimed",
        /// The worker published it.
        Published = "publish_published",
        /// An attempt failed.
        AttemptFailed = "publish_attempt_failed",
        /// It failed for good.
        FailedForGood = "publish_failed",
        /// The worker's lease ran out before it reported: it may or may not be published.
        LeaseExpired = "publish_lease_expired",
        /// A person said whether an unconfirmed log was published.
        Confirmed = "publish_confirmed",
        /// A person planned a failed log again.
        Retried = "publish_retried",
        /// A recurring series was made.
        SeriesCreated = "series_created",
        /// A series' rule changed.
        SeriesUpdated = "series_updated",
        /// A series was cancelled.
        SeriesCancelled = "series_cancelled",
    }
}

/// The `entity_type` of events about publish logs.
pub const ENTITY_PUBLISH_LOG: &str = "publish_log";

/// The `entity_type` of events about recurring series.
pub const ENTITY_PUBLISH_SERIES: &str = "publish_series";

/// An event's metadata: a struct per event type, its keys in alphabetical order.
pub(crate) trait Metadata: Serialize {
    /// The event type it describes.
    const TYPE: EventType;
}

/// `publish_scheduled_created`.
#[derive(Serialize)]
pub(crate) struct Created<'a> {
    pub clip_id: &'a str,
    /// A series' occurrence: its local date-time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occurrence: Option<&'a str>,
    pub platform: &'a str,
    #[serde(serialize_with = "instant")]
    pub requested_for: DateTime<Utc>,
    pub scheduled_by: &'a str,
    #[serde(serialize_with = "instant")]
    pub scheduled_for: DateTime<Utc>,
    #[serde(serialize_with = "instant")]
    pub scheduled_window_end: DateTime<Utc>,
    /// A series' occurrence: the series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series_id: Option<&'a str>,
    pub social_account_id: &'a str,
    pub status: &'a str,
}

/// `publish_scheduled_adjusted`.
#[derive(Serialize)]
pub(crate) struct Adjusted<'a> {
    #[serde(serialize_with = "instant")]
    pub adjusted_time: DateTime<Utc>,
    pub clip_id: &'a str,
    #[serde(serialize_with = "instant")]
    pub original_time: DateTime<Utc>,
    pub platform: &'a str,
    pub reason: &'a str,
}

/// `publish_scheduled_enqueued`.
#[derive(Serialize)]
pub(crate) struct Enqueued<'a> {
    pub clip_id: &'a str,
    pub enqueued_at: &'a str,
    pub platform: &'a str,
    #[serde(serialize_with = "maybe_instant")]
    pub scheduled_for: Option<DateTime<Utc>>,
    pub social_account_id: &'a str,
}

/// `publish_scheduled_cancelled`.
#[derive(Serialize)]
pub(crate) struct Cancelled<'a> {
    pub clip_id: &'a str,
    pub platform: &'a str,
    #[serde(serialize_with = "maybe_instant")]
    pub scheduled_for: Option<DateTime<Utc>>,
    pub social_account_id: &'a str,
}

/// `publish_scheduled_rescheduled`.
#[derive(Serialize)]
pub(crate) struct Rescheduled<'a> {
    pub clip_id: &'a str,
    #[serde(serialize_with = "instant")]
    pub new_scheduled_for: DateTime<Utc>,
    #[serde(serialize_with = "maybe_instant")]
    pub old_scheduled_for: Option<DateTime<Utc>>,
    pub platform: &'a str,
    pub reason: &'a str,
    pub social_account_id: &'a str,
}

/// `publish_claimed`.
#[derive(Serialize)]
pub(crate) struct Claimed<'a> {
    pub attempt: i32,
    pub clip_id: &'a str,
    #[serde(serialize_with = "instant")]
    pub lease_expires_at: DateTime<Utc>,
    pub platform: &'a str,
    pub social_account_id: &'a str,
    pub worker_id: &'a str,
}

/// `publish_published`.
#[derive(Serialize)]
pub(crate) struct Published<'a> {
    pub attempt: i32,
    pub clip_id: &'a str,
    pub permalink: Option<&'a str>,
    pub platform: &'a str,
    pub platform_post_id: Option<&'a str>,
    pub social_account_id: &'a str,
}

/// `publish_attempt_failed`.
#[derive(Serialize)]
pub(crate) struct AttemptFailed<'a> {
    pub attempt: i32,
    pub clip_id: &'a str,
    pub error: &'a str,
    pub kind: &'a str,
    #[serde(serialize_with = "maybe_instant")]
    pub next_scheduled_for: Option<DateTime<Utc>>,
    pub platform: &'a str,
    pub social_account_id: &'a str,
}

/// `publish_failed`.
#[derive(Serialize)]
pub(crate) struct FailedForGood<'a> {
    pub attempt: i32,
    pub clip_id: &'a str,
    pub error: &'a str,
    pub platform: &'a str,
    pub social_account_id: &'a str,
}

/// `publish_lease_expired`.
#[derive(Serialize)]
pub(crate) struct LeaseExpired<'a> {
    pub attempt: i32,
    pub clip_id: &'a str,
    pub platform: &'a str,
    pub social_account_id: &'a str,
    pub worker_id: Option<&'a str>,
}

/// `publish_confirmed`.
#[derive(Serialize)]
pub(crate) struct Confirmed<'a> {
    pub clip_id: &'a str,
    pub platform: &'a str,
    pub platform_post_id: Option<&'a str>,
    pub published: bool,
    pub social_account_id: &'a str,
}

/// `publish_retried`.
#[derive(Serialize)]
pub(crate) struct Retried<'a> {
    pub clip_id: &'a str,
    #[serde(serialize_with = "instant")]
    pub new_scheduled_for: DateTime<Utc>,
    pub platform: &'a str,
    pub reason: &'a str,
    pub social_account_id: &'a str,
}

/// What every series event says of the series.
#[derive(Serialize)]
pub(crate) struct SeriesFacts<'a> {
    pub clip_id: &'a str,
    pub dtstart: String,
    pub exdates: Vec<String>,
    pub platform: &'a str,
    pub rrule: String,
    pub scheduled_by: &'a str,
    pub series_id: &'a str,
    pub social_account_id: &'a str,
    pub status: &'a str,
}

/// `series_created`.
#[derive(Serialize)]
#[serde(transparent)]
pub(crate) struct SeriesCreated<'a>(pub SeriesFacts<'a>);

/// `series_updated`.
#[derive(Serialize)]
#[serde(transparent)]
pub(crate) struct SeriesUpdated<'a>(pub SeriesFacts<'a>);

/// `series_cancelled`.
#[derive(Serialize)]
#[serde(transparent)]
pub(crate) struct SeriesCancelled<'a>(pub SeriesFacts<'a>);

/// Each metadata struct's event type.
macro_rules! event_types {
    ($($metadata:ident),* $(,)?) => {$(
        impl Metadata for $metadata<'_> {
            const TYPE: EventType = EventType::$metadata;
        }
    )*};
}
event_types!(
    Created,
    Adjusted,
    Enqueued,
    Cancelled,
    Rescheduled,
    Claimed,
    Published,
    AttemptFailed,
    FailedForGood,
    LeaseExpired,
    Confirmed,
    Retried,
    SeriesCreated,
    SeriesUpdated,
    SeriesCancelled,
);

fn instant<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339(*at))
}

fn maybe_instant<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => instant(at, serializer),
        None => serializer.serialize_none(),
    }
}

/// Metadata as the ledger stores it: serde's compact JSON.
pub(crate) fn metadata_json(metadata: &impl Metadata) -> String {
    // Strings, instants and null: serializing cannot fail.
    serde_json::to_string(metadata).expect("event metadata serializes")
}

/// An event to write.
#[derive(Debug)]
pub(crate) struct NewEvent {
    pub id: String,
    pub event_type: &'static str,
    pub entity_type: &'static str,
    pub entity_id: String,
    pub metadata: String,
    pub created_at: NaiveDateTime,
}

impl NewEvent {
    /// An event about the publish log `log_id`, with a fresh `evt_…` id.
    pub(crate) fn about_log<M: Metadata>(log_id: &str, metadata: &M, at: DateTime<Utc>) -> Self {
        Self::about(ENTITY_PUBLISH_LOG, log_id, metadata, at)
    }

    /// An event about the series `series_id`, with a fresh `evt_…` id.
    pub(crate) fn about_series<M: Metadata>(
        series_id: &str,
        metadata: &M,
        at: DateTime<Utc>,
    ) -> Self {
        Self::about(ENTITY_PUBLISH_SERIES, series_id, metadata, at)
    }

    fn about<M: Metadata>(
        entity_type: &'static str,
        entity_id: &str,
        metadata: &M,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: new_ordered_id("evt"),
            event_type: M::TYPE.as_str(),
            entity_type,
            entity_id: entity_id.to_owned(),
            metadata: metadata_json(metadata),
            created_at: at.naive_utc(),
        }
    }
}

/// The columns an `INSERT … SELECT` of events fills, in its select list's order.
macro_rules! event_columns {
    () => {
        (
            $crate::schema::ledger_events::id,
            $crate::schema::ledger_events::event_type,
            $crate::schema::ledger_events::entity_type,
            $crate::schema::ledger_events::entity_id,
            $crate::schema::ledger_events::metadata,
            $crate::schema::ledger_events::created_at,
        )
    };
}
pub(crate) use event_columns;

/// One event as a tuple of `column.eq(value)`. Diesel keeps a statement prepared, and finds
/// it by the statement's type alone, only when that type says its SQL is fixed; a derived
/// `Insertable` does not say so (any field could become `DEFAULT`), so its statement would be
/// parsed again for every event (`docs/benchmarks.md`).
///
/// `$string` takes each string field by reference: `identity` to borrow it, `String::clone` for
/// an array of rows, whose statement type (diesel's key for it) must not borrow. `$created_at`
/// is the value bound for `created_at`.
macro_rules! event_values {
    ($row:expr, $string:path, $created_at:expr) => {{
        use crate::schema::ledger_events::dsl as e;
        let row: &NewEvent = $row;
        (
            e::id.eq($string(&row.id)),
            e::event_type.eq(row.event_type),
            e::entity_type.eq(row.entity_type),
            e::entity_id.eq($string(&row.entity_id)),
            e::metadata.eq($string(&row.metadata)),
            e::created_at.eq($created_at),
        )
    }};
}

/// Inserts events, in order, each with a statement kept prepared where it counts.
///
/// PostgreSQL: the one or two events of a schedule in one `INSERT` kept prepared for that
/// count; more (a tick batch, a batch of schedules) in one `INSERT … SELECT` from `unnest` of
/// one array per column, also kept prepared (a multi-row `VALUES` is parsed and planned anew
/// for every batch). SQLite, where a statement costs no round trip: one row per statement, with
/// the one statement it keeps prepared (a multi-row `INSERT` would be prepared anew each time).
pub(crate) fn insert_events(conn: &mut Conn, rows: &[NewEvent]) -> QueryResult<()> {
    match conn {
        Conn::Pg(c) => insert_pg(c, rows),
        Conn::Sqlite(c) => insert_sqlite(c, rows),
    }
}

fn insert_pg(c: &mut diesel::PgConnection, rows: &[NewEvent]) -> QueryResult<()> {
    let insert = || diesel::insert_into(ledger_events::table);
    match rows {
        [] => {}
        [one] => {
            insert()
                .values(event_values!(one, identity, one.created_at))
                .execute(c)?;
        }
        [first, second] => {
            insert()
                .values([
                    event_values!(first, String::clone, first.created_at),
                    event_values!(second, String::clone, second.created_at),
                ])
                .execute(c)?;
        }
        _ => {
            let column = |f: fn(&NewEvent) -> &str| rows.iter().map(f).collect::<Vec<_>>();
            let created_at: Vec<NaiveDateTime> = rows.iter().map(|r| r.created_at).collect();
            // Several set-returning functions in one select list advance together, row by
            // row, in array order.
            let from_arrays = diesel::select((
                unnest::<Text, _>(column(|r| &r.id)),
                unnest::<Text, _>(column(|r| r.event_type)),
                unnest::<Text, _>(column(|r| r.entity_type)),
                unnest::<Text, _>(column(|r| &r.entity_id)),
                unnest::<Text, _>(column(|r| &r.metadata)),
                unnest::<Timestamp, _>(created_at),
            ));
            insert()
                .values(from_arrays)
                .into_columns(event_columns!())
                .execute(c)?;
        }
    }
    Ok(())
}

diesel::define_sql_function! {
    /// PostgreSQL: one row per element of `array`, in a select list.
    fn unnest<T: diesel::sql_types::SingleValue>(array: Array<T>) -> T;
}

fn insert_sqlite(c: &mut diesel::SqliteConnection, rows: &[NewEvent]) -> QueryResult<()> {
    // The events written together share their time: written out once, not per row.
    let mut created_at: Option<(NaiveDateTime, String)> = None;
    for row in rows {
        let text = match &created_at {
            Some((at, text)) if *at == row.created_at => text,
            _ => {
                &created_at
                    .insert((row.created_at, sqlite_timestamp(row.created_at)))
                    .1
            }
        };
        diesel::insert_into(ledger_events::table)
            .values(event_values!(row, identity, SqliteTimestamp(text)))
            .execute(c)?;
    }
    Ok(())
}

/// `at` as diesel writes a `NaiveDateTime` to SQLite (`"%F %T%.f"`: `2026-01-31 18:00:00`, a
/// fraction only when there is one), so that every `TIMESTAMP` compares and sorts as text with
/// the others.
fn sqlite_timestamp(at: NaiveDateTime) -> String {
    at.format("%F %T%.f").to_string()
}

/// A SQLite `TIMESTAMP` already written out ([`sqlite_timestamp`]), bound as it is: the events
/// of a batch of schedules share their time, formatted once.
#[derive(Debug, Clone, Copy, diesel::expression::AsExpression)]
#[diesel(sql_type = Timestamp)]
struct SqliteTimestamp<'a>(&'a str);

impl diesel::serialize::ToSql<Timestamp, diesel::sqlite::Sqlite> for SqliteTimestamp<'_> {
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, diesel::sqlite::Sqlite>,
    ) -> diesel::serialize::Result {
        out.set_value(self.0);
        Ok(diesel::serialize::IsNull::No)
    }
}
