//! The rows the store returns, typed: UTC instants, parsed platform, zone, status and author.
//! Each derives its reading from the table's columns; a stored value that does not parse (a
//! hand-edited row) is an error, never a wrong value.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::sql_types::{Nullable, Text, Timestamp};
use diesel::{Queryable, Selectable};
use scheduler_core::{Platform, Priority, Zone};

use crate::schema::{clips, ledger_events, publish_logs, social_accounts};

/// Declares a closed set of names stored as text: the enum, `ALL`, `as_str`, parsing (the
/// error, [`UnknownValue`], names the field and every value) and `Display`.
macro_rules! stored_names {
    (
        $(#[$meta:meta])*
        pub enum $name:ident in $field:literal {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal,)*
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $($(#[$variant_meta])* $variant,)*
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The stored name.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::models::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .find(|value| value.as_str() == s)
                    .copied()
                    .ok_or_else(|| {
                        $crate::models::UnknownValue::new($field, s, Self::ALL.iter().map(Self::as_str))
                    })
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::models::UnknownValue;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// A string with one of the stored names.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some(Self::ALL.iter().map(Self::as_str)))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}
pub(crate) use stored_names;

stored_names! {
    /// The `status` of a publish log.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Status in "status" {
        /// Waiting for its time.
        Scheduled = "scheduled",
        /// Due, and handed to the publishing worker by the tick.
        Pending = "pending",
        /// A worker is publishing it.
        Processing = "processing",
        /// Published.
        Published = "published",
        /// Publishing failed for good.
        Failed = "failed",
        /// Cancelled before it was due.
        Cancelled = "cancelled",
        /// It may or may not have reached the platform: a person must say.
        Unconfirmed = "unconfirmed",
    }
}

impl Status {
    /// The statuses whose posts count for the gap and the daily cap.
    pub const ACTIVE: [Status; 5] = [
        Self::Scheduled,
        Self::Pending,
        Self::Processing,
        Self::Published,
        Self::Unconfirmed,
    ];
}

stored_names! {
    /// Who asked for a post.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub enum ScheduledBy in "scheduled_by" {
        /// A person (the default).
        #[default]
        Manual = "manual",
        /// The rule engine.
        RuleEngine = "rule_engine",
        /// The campaign orchestrator.
        CampaignOrchestrator = "campaign_orchestrator",
    }
}

/// A name that is none of a field's values; its message is a rejection reason
/// (`Invalid scheduled_by: robot; use manual, rule_engine or campaign_orchestrator`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid {field}: {value}; use {expected}")]
pub struct UnknownValue {
    /// The field.
    pub field: &'static str,
    /// What was given (cut to a readable length).
    pub value: String,
    /// The values it may take, in words.
    pub expected: String,
}

impl UnknownValue {
    pub(crate) fn new<'a>(
        field: &'static str,
        value: &str,
        values: impl Iterator<Item = &'a str>,
    ) -> Self {
        let values: Vec<&str> = values.collect();
        let expected = match values.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        };
        Self {
            field,
            value: scheduler_core::shown(value),
            expected,
        }
    }
}

impl From<UnknownValue> for crate::Refusal {
    fn from(e: UnknownValue) -> Self {
        Self::new(crate::RefusalKind::InvalidField, e.to_string())
    }
}

/// The `schedule_type` of the logs this scheduler writes.
pub const SCHEDULE_TYPE_SCHEDULED: &str = "scheduled";

/// A social account.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = social_accounts, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct Account {
    /// `acc_…` or the client's id.
    pub id: String,
    /// The platform it posts to.
    #[diesel(deserialize_as = String)]
    pub platform: Platform,
    /// The account's handle, if given.
    pub handle: Option<String>,
    /// The zone its posting windows are in.
    #[diesel(deserialize_as = String)]
    pub timezone: Zone,
    /// When it was created.
    #[diesel(deserialize_as = UtcTime)]
    pub created_at: DateTime<Utc>,
    /// The read-only key of its iCalendar feed (`cal_` and 64 hex digits).
    pub calendar_key: Option<String>,
}

/// A clip to publish.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = clips, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct Clip {
    /// `clip_…` or the client's id.
    pub id: String,
    /// Its title, if given.
    pub title: Option<String>,
    /// Where the media is, if given.
    pub media_url: Option<String>,
    /// When it was created.
    #[diesel(deserialize_as = UtcTime)]
    pub created_at: DateTime<Utc>,
}

/// A publish log: one post of a clip on an account.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = publish_logs, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct PublishLog {
    /// `log_…`.
    pub id: String,
    /// The clip.
    pub clip_id: String,
    /// The platform.
    #[diesel(deserialize_as = String)]
    pub platform: Platform,
    /// The account.
    pub social_account_id: String,
    /// Where it is in its life.
    #[diesel(deserialize_as = String)]
    pub status: Status,
    /// `scheduled` for the logs this scheduler writes.
    pub schedule_type: String,
    /// When to publish.
    #[diesel(deserialize_as = MaybeUtcTime)]
    pub scheduled_for: Option<DateTime<Utc>>,
    /// The latest acceptable time: the client's, or the end of the window holding the slot.
    #[diesel(deserialize_as = MaybeUtcTime)]
    pub scheduled_window_end: Option<DateTime<Utc>>,
    /// Who asked.
    #[diesel(deserialize_as = String)]
    pub scheduled_by: ScheduledBy,
    /// The time asked for (or the time of the request when none was given).
    #[diesel(deserialize_as = MaybeUtcTime)]
    pub requested_for: Option<DateTime<Utc>>,
    /// Why the slot differs from the request, or `Scheduled as requested`.
    pub reason: Option<String>,
    /// When it was created.
    #[diesel(deserialize_as = UtcTime)]
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    #[diesel(deserialize_as = UtcTime)]
    pub updated_at: DateTime<Utc>,
    /// How many times a worker claimed it since it was planned (0 before the first claim).
    pub attempt: i32,
    /// When the lease of the worker publishing it ends, while it is `processing`.
    #[diesel(deserialize_as = MaybeUtcTime)]
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// The worker that claimed it last.
    pub leased_by: Option<String>,
    /// The platform's id of the post, once published.
    pub platform_post_id: Option<String>,
    /// The post's address on the platform, once published.
    pub permalink: Option<String>,
    /// What the last failed attempt reported.
    pub last_error: Option<String>,
    /// The recurring series it was made for.
    pub series_id: Option<String>,
    /// The series' occurrence it was made for: the local date-time the rule gives
    /// (`2026-12-07T18:30:00`); none for a log cancelled because its series' rule changed.
    pub occurrence: Option<String>,
    /// How much it matters against the account's other posts.
    #[diesel(deserialize_as = i16)]
    pub priority: Priority,
    /// The latest figures reported, as JSON ([`crate::engagement::Engagement`]).
    pub engagement: Option<String>,
}

/// An audit event.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = ledger_events, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct LedgerEvent {
    /// The write order: newest first is `seq` descending.
    pub seq: i64,
    /// `evt_…`.
    pub id: String,
    /// `publish_scheduled_created`, `publish_scheduled_enqueued`, …
    pub event_type: String,
    /// `publish_log`.
    pub entity_type: String,
    /// The log's id.
    pub entity_id: String,
    /// The event's details.
    #[diesel(deserialize_as = JsonText)]
    pub metadata: serde_json::Value,
    /// When it was written.
    #[diesel(deserialize_as = UtcTime)]
    pub created_at: DateTime<Utc>,
    /// The transaction that wrote it on PostgreSQL (0 on SQLite, and for events written before
    /// the feed existed): the feed's order is `(txid, seq)`.
    pub txid: i64,
}

/// A stored `TIMESTAMP`, read as the UTC instant it holds (PostgreSQL's `timestamptz` columns
/// included: every session's time zone is UTC).
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct UtcTime(DateTime<Utc>);

impl<DB> FromSql<Timestamp, DB> for UtcTime
where
    DB: Backend,
    NaiveDateTime: FromSql<Timestamp, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        NaiveDateTime::from_sql(bytes).map(|t| Self(t.and_utc()))
    }
}

impl From<UtcTime> for DateTime<Utc> {
    fn from(t: UtcTime) -> Self {
        t.0
    }
}

/// A stored nullable `TIMESTAMP`, read as [`UtcTime`] or `None`.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct MaybeUtcTime(Option<DateTime<Utc>>);

impl<DB> FromSql<Nullable<Timestamp>, DB> for MaybeUtcTime
where
    DB: Backend,
    NaiveDateTime: FromSql<Timestamp, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        NaiveDateTime::from_sql(bytes).map(|t| Self(Some(t.and_utc())))
    }

    fn from_nullable_sql(bytes: Option<DB::RawValue<'_>>) -> deserialize::Result<Self> {
        match bytes {
            Some(bytes) => Self::from_sql(bytes),
            None => Ok(Self(None)),
        }
    }
}

impl From<MaybeUtcTime> for Option<DateTime<Utc>> {
    fn from(t: MaybeUtcTime) -> Self {
        t.0
    }
}

/// A `TEXT` column holding JSON.
#[derive(Debug, Clone, FromSqlRow)]
pub struct JsonText(serde_json::Value);

impl<DB> FromSql<Text, DB> for JsonText
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(Self(serde_json::from_str(&String::from_sql(bytes)?)?))
    }
}

impl From<JsonText> for serde_json::Value {
    fn from(j: JsonText) -> Self {
        j.0
    }
}
