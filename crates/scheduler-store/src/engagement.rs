//! Engagement (contract section 13): the latest snapshot of a published post's figures, kept
//! with its log as JSON (`publish_logs.engagement`), written by `complete` or by a later report.
//! The best-time suggestions read them.

use chrono::{DateTime, SubsecRound, Utc};
use diesel::prelude::*;
use serde_json::{json, Map, Value};

use crate::conn::{on_backend, write_transaction, Conn};
use crate::error::{Result, StoreError};
use crate::logs::{get_log, not_in};
use crate::models::{PublishLog, Status};

/// A snapshot of a post's figures; each is absent when the platform did not give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Engagement {
    /// Views (or plays, impressions: what the platform counts as seen).
    pub views: Option<u64>,
    /// Likes.
    pub likes: Option<u64>,
    /// Comments.
    pub comments: Option<u64>,
    /// Shares.
    pub shares: Option<u64>,
    /// When the figures were read, whole seconds.
    pub measured_at: DateTime<Utc>,
}

impl Engagement {
    /// As stored: a JSON object of the figures given and `measured_at` (RFC 3339).
    pub fn to_json(&self) -> String {
        let mut map = Map::new();
        for (name, value) in self.figures() {
            if let Some(v) = value {
                map.insert(name.to_owned(), json!(v));
            }
        }
        map.insert(
            "measured_at".to_owned(),
            json!(scheduler_core::rfc3339(self.measured_at)),
        );
        Value::Object(map).to_string()
    }

    /// Reads what [`Engagement::to_json`] wrote; `None` for anything else (figures stored
    /// before they had a shape, without `measured_at`).
    pub fn from_json(text: &str) -> Option<Self> {
        let value: Value = serde_json::from_str(text).ok()?;
        let figure = |name: &str| value.get(name).and_then(Value::as_u64);
        Some(Self {
            views: figure("views"),
            likes: figure("likes"),
            comments: figure("comments"),
            shares: figure("shares"),
            measured_at: value.get("measured_at")?.as_str()?.parse().ok()?,
        })
    }

    fn figures(&self) -> [(&'static str, Option<u64>); 4] {
        [
            ("views", self.views),
            ("likes", self.likes),
            ("comments", self.comments),
            ("shares", self.shares),
        ]
    }
}

/// Records a published post's figures: the snapshot measured last is kept (one measured before
/// the stored one changes nothing). [`StoreError::NotFound`] for an unknown log,
/// [`StoreError::InvalidState`] unless it is `published`.
pub fn record_engagement(
    conn: &mut Conn,
    log_id: &str,
    engagement: &Engagement,
) -> Result<PublishLog> {
    use crate::schema::publish_logs::dsl as p;
    let engagement = Engagement {
        measured_at: engagement.measured_at.trunc_subsecs(0),
        ..*engagement
    };
    write_transaction(conn, |conn| {
        let log = get_log(conn, log_id)?;
        if log.status != Status::Published {
            return Err(not_in(&log, Status::Published));
        }
        let stored = log.engagement.as_deref().and_then(Engagement::from_json);
        if stored.is_some_and(|s| s.measured_at > engagement.measured_at) {
            return Ok(log);
        }
        let update = diesel::update(p::publish_logs.find(log_id))
            .set(p::engagement.eq(engagement.to_json()));
        on_backend!(conn, |c| update
            .returning(PublishLog::as_returning())
            .get_result(c)
            .optional())?
        .ok_or_else(|| StoreError::not_found("publish log", log_id))
    })
}
