//! The rows the store returns, with UTC instants and parsed platform and zone, and the values
//! written in the text columns. Each row type reads from either backend's own connection and
//! from [`crate::Conn`].

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromStaticSqlRow, Queryable};
use scheduler_core::{Platform, Zone};

use crate::schema::{clips, ledger_events, publish_logs, social_accounts};

/// The `status` values of a publish log.
pub mod status {
    /// Waiting for its time.
    pub const SCHEDULED: &str = "scheduled";
    /// Due and handed to the publishing worker by the tick.
    pub const PENDING: &str = "pending";
    /// The worker is publishing it.
    pub const PROCESSING: &str = "processing";
    /// Published.
    pub const PUBLISHED: &str = "published";
    /// Publishing failed.
    pub const FAILED: &str = "failed";
    /// Cancelled before it was due.
    pub const CANCELLED: &str = "cancelled";
    /// The statuses whose posts count for the gap and the daily cap.
    pub const ACTIVE: [&str; 4] = [SCHEDULED, PENDING, PROCESSING, PUBLISHED];
}

/// The `schedule_type` of logs this scheduler writes.
pub const SCHEDULE_TYPE_SCHEDULED: &str = "scheduled";

/// Who asked for a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ScheduledBy {
    /// A person (the default).
    #[default]
    Manual,
    /// The rule engine.
    RuleEngine,
    /// The campaign orchestrator.
    CampaignOrchestrator,
}

impl ScheduledBy {
    /// The stored name: `manual`, `rule_engine` or `campaign_orchestrator`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::RuleEngine => "rule_engine",
            Self::CampaignOrchestrator => "campaign_orchestrator",
        }
    }
}

impl FromStr for ScheduledBy {
    type Err = String;

    /// Parses a stored name; the error is a rejection reason.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "manual" => Ok(Self::Manual),
            "rule_engine" => Ok(Self::RuleEngine),
            "campaign_orchestrator" => Ok(Self::CampaignOrchestrator),
            other => Err(format!(
                "Invalid scheduled_by: {}; use manual, rule_engine or campaign_orchestrator",
                other.chars().take(64).collect::<String>()
            )),
        }
    }
}

impl fmt::Display for ScheduledBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A social account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// `acc_…` or the client's id.
    pub id: String,
    /// The platform it posts to.
    pub platform: Platform,
    /// The account's handle, if given.
    pub handle: Option<String>,
    /// The zone its posting windows are in.
    pub timezone: Zone,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A clip to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clip {
    /// `clip_…` or the client's id.
    pub id: String,
    /// Its title, if given.
    pub title: Option<String>,
    /// Where the media is, if given.
    pub media_url: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A publish log: one post of a clip on an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishLog {
    /// `log_…`.
    pub id: String,
    /// The clip.
    pub clip_id: String,
    /// The platform.
    pub platform: String,
    /// The account.
    pub social_account_id: String,
    /// One of [`status`].
    pub status: String,
    /// `scheduled` for the logs this scheduler writes.
    pub schedule_type: String,
    /// When to publish.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// The latest acceptable time: the client's, or the end of the window holding the slot.
    pub scheduled_window_end: Option<DateTime<Utc>>,
    /// Who asked (`manual`, `rule_engine`, `campaign_orchestrator`).
    pub scheduled_by: String,
    /// The time asked for (or the time of the request when none was given).
    pub requested_for: Option<DateTime<Utc>>,
    /// Why the slot differs from the request, or `Scheduled as requested`.
    pub reason: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// An audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub metadata: serde_json::Value,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

impl<DB: Backend> Queryable<social_accounts::SqlType, DB> for Account
where
    (String, String, Option<String>, String, NaiveDateTime):
        FromStaticSqlRow<social_accounts::SqlType, DB>,
{
    type Row = (String, String, Option<String>, String, NaiveDateTime);

    fn build((id, platform, handle, timezone, created_at): Self::Row) -> deserialize::Result<Self> {
        Ok(Self {
            platform: Platform::parse(&platform)?,
            timezone: Zone::parse(&timezone)?,
            id,
            handle,
            created_at: utc(created_at),
        })
    }
}

impl<DB: Backend> Queryable<clips::SqlType, DB> for Clip
where
    (String, Option<String>, Option<String>, NaiveDateTime): FromStaticSqlRow<clips::SqlType, DB>,
{
    type Row = (String, Option<String>, Option<String>, NaiveDateTime);

    fn build((id, title, media_url, created_at): Self::Row) -> deserialize::Result<Self> {
        Ok(Self {
            id,
            title,
            media_url,
            created_at: utc(created_at),
        })
    }
}

type LogRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    String,
    Option<NaiveDateTime>,
    Option<String>,
    NaiveDateTime,
    NaiveDateTime,
);

impl<DB: Backend> Queryable<publish_logs::SqlType, DB> for PublishLog
where
    LogRow: FromStaticSqlRow<publish_logs::SqlType, DB>,
{
    type Row = LogRow;

    fn build(row: LogRow) -> deserialize::Result<Self> {
        let (id, clip_id, platform, social_account_id, status, schedule_type) =
            (row.0, row.1, row.2, row.3, row.4, row.5);
        Ok(Self {
            id,
            clip_id,
            platform,
            social_account_id,
            status,
            schedule_type,
            scheduled_for: row.6.map(utc),
            scheduled_window_end: row.7.map(utc),
            scheduled_by: row.8,
            requested_for: row.9.map(utc),
            reason: row.10,
            created_at: utc(row.11),
            updated_at: utc(row.12),
        })
    }
}

impl<DB: Backend> Queryable<ledger_events::SqlType, DB> for LedgerEvent
where
    (i64, String, String, String, String, String, NaiveDateTime):
        FromStaticSqlRow<ledger_events::SqlType, DB>,
{
    type Row = (i64, String, String, String, String, String, NaiveDateTime);

    fn build(
        (seq, id, event_type, entity_type, entity_id, metadata, created_at): Self::Row,
    ) -> deserialize::Result<Self> {
        Ok(Self {
            seq,
            id,
            event_type,
            entity_type,
            entity_id,
            metadata: serde_json::from_str(&metadata)?,
            created_at: utc(created_at),
        })
    }
}
