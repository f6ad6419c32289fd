//! What an operator watches: how much the tick has to do and how long posts wait.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::dsl::{count_star, min};
use diesel::prelude::*;

use crate::conn::Conn;
use crate::error::Result;
use crate::models::Status;
use crate::schema::publish_logs::dsl as p;
use crate::tick::due::{due_log, due_logs_unordered, now as tick_now};

/// The posts waiting, as the tick and the publishing worker see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// The "now" it was read at: the database's clock on PostgreSQL, as the tick's.
    pub now: DateTime<Utc>,
    /// `scheduled` posts whose time has come: the next tick's work.
    pub due: i64,
    /// The time of the oldest of them; `now` minus it is how late the tick is.
    pub oldest_due: Option<DateTime<Utc>>,
    /// `pending` posts: moved by the tick, waiting for a worker.
    pub pending: i64,
    /// The time of the oldest of them.
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// Reads the backlog. Both counts read the index on `(status, scheduled_for, id)`.
pub fn backlog(conn: &mut Conn, host_now: DateTime<Utc>) -> Result<Backlog> {
    let now = tick_now(conn, host_now)?;
    // The tick's own condition.
    let (due, oldest_due): (i64, Option<NaiveDateTime>) = due_logs_unordered!(now.naive_utc())
        .select((count_star(), min(due_log.field(p::scheduled_for))))
        .get_result(conn)?;
    let (pending, oldest_pending): (i64, Option<NaiveDateTime>) = p::publish_logs
        .filter(p::status.eq(Status::Pending.as_str()))
        .select((count_star(), min(p::scheduled_for)))
        .get_result(conn)?;
    Ok(Backlog {
        now,
        due,
        oldest_due: oldest_due.map(|t| t.and_utc()),
        pending,
        oldest_pending: oldest_pending.map(|t| t.and_utc()),
    })
}
