//! The publishing handoff (contract section 8): workers claim `pending` logs with a lease,
//! publish them, and report; a person settles what may or may not have been published.
//!
//! A lease token fences every report: the change is one `UPDATE … WHERE id = ? AND status =
//! 'processing' AND lease_token = ? AND lease_expires_at > now`, so a report with a token
//! whose lease ran out, or whose log another claim took, changes nothing
//! ([`crate::StoreError::LeaseLost`]). Every transition commits with its ledger event. The lease's
//! clock is the database's on PostgreSQL (one clock for every host, as the tick's) and the
//! host's on SQLite; planning a retry reads `now` as scheduling does.

mod claim;
mod report;
mod settle;

use chrono::{DateTime, NaiveDateTime, SubsecRound, TimeDelta, Utc};
use diesel::prelude::*;
use scheduler_core::Platform;
use serde::Serialize;

use crate::conn::Conn;
use crate::error::Result;
use crate::models::{Account, Clip, PublishLog};

pub use claim::claim;
pub use report::{complete, fail, heartbeat};
pub use settle::{confirm, retry};

/// The most logs one claim takes.
pub const MAX_CLAIM: u32 = 100;
/// The shortest and longest lease, in seconds.
pub const LEASE_SECONDS: std::ops::RangeInclusive<u32> = 10..=3600;
/// The lease when none is asked for, in seconds.
pub const DEFAULT_LEASE_SECONDS: u32 = 300;
/// The most characters of an error text kept.
pub const MAX_ERROR_CHARS: usize = 2000;

/// What a worker asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest {
    /// Who claims: kept with the log and in its events.
    pub worker_id: String,
    /// At most this many logs (clamped to `1..=`[`MAX_CLAIM`]).
    pub limit: u32,
    /// The lease, in seconds (clamped to [`LEASE_SECONDS`]).
    pub lease_seconds: u32,
    /// Only logs of these platforms; empty: any.
    pub platforms: Vec<Platform>,
}

/// A claimed log, what a publisher needs with it, and the lease that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The log, now `processing`.
    pub log: PublishLog,
    /// Its clip.
    pub clip: Clip,
    /// Its account.
    pub account: Account,
    /// The token every report about this claim carries.
    pub lease_token: String,
    /// When the lease ends unless a heartbeat extends it.
    pub lease_expires_at: DateTime<Utc>,
    /// Which attempt this is, from 1.
    pub attempt: i32,
}

/// Why an attempt failed, as the worker tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The platform said try later, or the request never reached it: planned again after a
    /// backoff, until the platform's attempts run out.
    Retryable,
    /// The platform asked to wait (`retry_after`): planned again then; the attempt does not
    /// count.
    RateLimited,
    /// The platform refused the post for good.
    Permanent,
    /// The request may have reached the platform: a person must say (`unconfirmed`).
    Unknown,
}

impl FailureKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [
        Self::Retryable,
        Self::RateLimited,
        Self::Permanent,
        Self::Unknown,
    ];

    /// The name a report uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retryable => "retryable",
            Self::RateLimited => "rate_limited",
            Self::Permanent => "permanent",
            Self::Unknown => "unknown",
        }
    }
}

/// A worker's report that an attempt failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// What happened, in the worker's or the platform's words (kept cut to
    /// [`MAX_ERROR_CHARS`]).
    pub error: String,
    /// How long the platform asked to wait, for [`FailureKind::RateLimited`].
    pub retry_after: Option<TimeDelta>,
    /// In `-1.0..=1.0`: where in its ±10 % the backoff falls.
    pub jitter: f64,
}

/// A worker's report that the post is published.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    /// The platform's id of the post.
    pub platform_post_id: Option<String>,
    /// The post's address.
    pub permalink: Option<String>,
    /// Engagement figures the worker reported, as JSON text.
    pub engagement: Option<String>,
}

/// What happened to a log after a failure report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterFailure {
    /// The log as stored.
    pub log: PublishLog,
    /// The planner's reason when it was planned again.
    pub reason: Option<String>,
}

/// `text` cut to [`MAX_ERROR_CHARS`] characters.
fn cut(text: &str) -> String {
    text.chars().take(MAX_ERROR_CHARS).collect()
}

/// The clock leases are read by: the database's on PostgreSQL (this statement's start, so a
/// report that waited for a lock is judged when it reads, not when its transaction began), the
/// host's on SQLite; whole seconds.
fn lease_clock(conn: &mut Conn, host_now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let now = match conn {
        Conn::Pg(c) => diesel::select(diesel::dsl::sql::<diesel::sql_types::Timestamp>(
            "statement_timestamp() AT TIME ZONE 'UTC'",
        ))
        .get_result::<NaiveDateTime>(c)?
        .and_utc(),
        Conn::Sqlite(_) => host_now,
    };
    Ok(now.trunc_subsecs(0))
}
