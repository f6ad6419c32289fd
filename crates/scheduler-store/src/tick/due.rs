//! Which logs are due: the one condition every tick reads them by.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Timestamp;

use crate::conn::Conn;
use crate::schema::publish_logs;

diesel::alias!(publish_logs as due_log: DueLog);

/// The logs due at `now` (a `NaiveDateTime`), oldest first, ties by id, without a select
/// clause: the dry run's list of ids, and on SQLite the claim of a tick batch (the PostgreSQL
/// claim is the same condition in SQL; the two change together). A log is due when its time
/// lies in the supported years and is not later than `now`: a time another tool (or a version
/// before the years were enforced) stored past year 9999 is never due, though SQLite, comparing
/// stored times as text, sorts `+10000-…` before every other. It reads `publish_logs` under
/// the alias `due_log`, because diesel lets a query name a table once and the claiming
/// `UPDATE` names it already. The index on `(status, scheduled_for, id)` gives its rows in
/// order.
macro_rules! due_logs {
    ($now:expr) => {{
        use $crate::schema::publish_logs::dsl as p;
        use $crate::tick::due::due_log;
        $crate::tick::due::due_logs_unordered!($now).order((
            due_log.field(p::scheduled_for).asc(),
            due_log.field(p::id).asc(),
        ))
    }};
}
pub(crate) use due_logs;

/// [`due_logs!`] without its order: the condition alone, for aggregates (the backlog).
macro_rules! due_logs_unordered {
    ($now:expr) => {{
        use $crate::schema::publish_logs::dsl as p;
        use $crate::tick::due::due_log;
        let scheduled: &'static str = $crate::models::Status::Scheduled.as_str();
        due_log
            .filter(due_log.field(p::status).eq(scheduled))
            .filter(due_log.field(p::scheduled_for).le($now))
            .filter(
                due_log
                    .field(p::scheduled_for)
                    .ge($crate::tick::due::earliest()),
            )
    }};
}
pub(crate) use due_logs_unordered;

/// The tick's "now", in whole seconds: the database clock on PostgreSQL (one clock for every
/// host), `host_now` on SQLite (whose database is on this host).
pub(crate) fn now(conn: &mut Conn, host_now: DateTime<Utc>) -> QueryResult<DateTime<Utc>> {
    let now = match conn {
        Conn::Pg(c) => diesel::select(sql::<Timestamp>("now() AT TIME ZONE 'UTC'"))
            .get_result::<NaiveDateTime>(c)?
            .and_utc(),
        Conn::Sqlite(_) => host_now,
    };
    Ok(now.trunc_subsecs(0))
}

/// The first instant of the supported years, as stored: 1970-01-01 00:00:00.
pub(crate) fn earliest() -> NaiveDateTime {
    DateTime::UNIX_EPOCH.naive_utc()
}
