//! Recurring series (contract section 10): a rule in the account's local time whose
//! occurrences become ordinary publish logs, planned like any request, each exactly once.
//!
//! - A series row keeps its rule, `dtstart` and `exdates` as the client gave them (local
//!   date-times, read in the account's zone), and `next_occurrence_at`: the earliest instant of
//!   an occurrence not made yet. Occurrences within the horizon (`series_horizon_days`) are
//!   made when the series is created or changed, and by every tick after that ([`make`]).
//! - A log made for an occurrence carries `series_id` and `occurrence` (its local date-time);
//!   a unique key on the two makes each occurrence once, however many makers run at once.
//! - Lock order: the series row (PostgreSQL `FOR NO KEY UPDATE`), then the account's lock, in
//!   every change and cancel. The tick skips series rows another transaction holds.
//! - An occurrence has at most one live log: a unique key on (series, occurrence). A log a
//!   person cancels keeps its occurrence, so it is not made again; one cancelled because the
//!   rule changed gives it up (`occurrence` NULL), so changing the rule back makes it again, as
//!   a new log with its own `publish_scheduled_created`.

mod make;
mod read;

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use scheduler_core::{
    latest_supported, local_text, parse_local, rfc3339, rfc5545_instant, Platform, Recurrence,
    Rrule, RuleSet, Zone,
};
use serde::Serialize;

use crate::account_lock::lock_accounts;
use crate::accounts::get_account;
use crate::conn::{on_backend, write_transaction, Conn};
use crate::error::{Refusal, RefusalKind, Result, StoreError};
use crate::events::{insert_events, Cancelled, NewEvent};
use crate::models::{stored_names, Account, PublishLog, ScheduledBy, Status, UtcTime};
use crate::new_ordered_id;
use crate::schedule::target;
use crate::schema::publish_series;

pub(crate) use make::extend_due;
pub use read::{
    get_series, list_series, preview_series, SeriesFilter, SeriesPage, DEFAULT_SERIES_PAGE,
    MAX_SERIES_PAGE,
};

stored_names! {
    /// The `status` of a series.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum SeriesStatus in "status" {
        /// Its occurrences are made as they come within the horizon.
        Active = "active",
        /// Cancelled: its scheduled occurrences were cancelled and no more are made.
        Cancelled = "cancelled",
    }
}

/// How many upcoming occurrences a series shows.
pub const NEXT_SHOWN: usize = 10;

/// The most `exdates` a series takes.
pub const MAX_EXDATES: usize = 1_000;

/// A series to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSeries {
    /// The clip every occurrence publishes.
    pub clip_id: String,
    /// The account.
    pub social_account_id: String,
    /// The platform, as the client wrote it; it must be the account's.
    pub platform: String,
    /// The first occurrence, local to the account's zone.
    pub dtstart: NaiveDateTime,
    /// The rule.
    pub rule: Rrule,
    /// Local date-times removed from the set.
    pub exdates: Vec<NaiveDateTime>,
    /// Who asks.
    pub scheduled_by: ScheduledBy,
}

/// A change of a series' rule: what is given replaces what was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeriesChange {
    /// A new first occurrence.
    pub dtstart: Option<NaiveDateTime>,
    /// A new rule.
    pub rule: Option<Rrule>,
    /// New excluded dates (all of them).
    pub exdates: Option<Vec<NaiveDateTime>>,
}

/// A series as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// `ser_…`.
    pub id: String,
    /// The clip.
    pub clip_id: String,
    /// The account.
    pub social_account_id: String,
    /// The account's platform.
    pub platform: Platform,
    /// The first occurrence, local.
    pub dtstart: NaiveDateTime,
    /// The rule.
    pub rule: Rrule,
    /// Excluded local date-times, sorted.
    pub exdates: Vec<NaiveDateTime>,
    /// Who asked.
    pub scheduled_by: ScheduledBy,
    /// Active or cancelled.
    pub status: SeriesStatus,
    /// The earliest instant of an occurrence not made yet; none when none is left (or the
    /// series is cancelled).
    pub next_occurrence_at: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When its rule last changed (or it was cancelled).
    pub updated_at: DateTime<Utc>,
}

impl Series {
    /// Its occurrences in `zone` (the account's).
    pub fn recurrence(&self, zone: Zone) -> Recurrence {
        Recurrence::new(
            self.dtstart,
            self.rule.clone(),
            self.exdates.iter().copied(),
            zone,
        )
    }
}

/// A series with its account's zone and its next occurrences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesView {
    /// The series.
    pub series: Series,
    /// The account's zone, in which its local times are read.
    pub timezone: Zone,
    /// Its next [`NEXT_SHOWN`] occurrences from now (none once cancelled).
    pub next_occurrences: Vec<Upcoming>,
}

/// One upcoming occurrence: its log when it is made, else where the rules would put it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upcoming {
    /// The local date-time the rule gives.
    pub occurrence: NaiveDateTime,
    /// When that is.
    pub occurrence_at: DateTime<Utc>,
    /// The log made for it, with its status; none while it lies beyond the horizon.
    pub log: Option<(String, Status)>,
    /// Its slot: the log's, or the one the rules give it now; none when no slot fits.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// Why the slot differs from the occurrence, or why there is none.
    pub reason: String,
}

/// Makes a series and its occurrences within the horizon, with a `series_created` event and
/// each occurrence's `publish_scheduled_created`, in one write transaction. Refused like a
/// schedule request (clip, account, platform), and with `past_time` when the rule has no
/// occurrence from now on.
pub fn create_series(
    conn: &mut Conn,
    rules: &RuleSet,
    new: &NewSeries,
    now: DateTime<Utc>,
) -> Result<SeriesView> {
    write_transaction(conn, |conn| {
        let now = now.trunc_subsecs(0);
        let (account, series) = checked(conn, new, now, true)?;
        use crate::schema::publish_series::dsl as s;
        let insert = diesel::insert_into(publish_series::table).values((
            s::id.eq(&series.id),
            s::clip_id.eq(&series.clip_id),
            s::social_account_id.eq(&series.social_account_id),
            s::platform.eq(series.platform.as_str()),
            s::dtstart.eq(local_text(series.dtstart)),
            s::rrule.eq(series.rule.to_string()),
            s::exdates.eq(exdates_json(&series.exdates)),
            s::scheduled_by.eq(series.scheduled_by.as_str()),
            s::status.eq(series.status.as_str()),
            s::created_at.eq(now.naive_utc()),
            s::updated_at.eq(now.naive_utc()),
        ));
        on_backend!(conn, |c| insert.execute(c))?;
        insert_events(conn, &[series_event(&series, EventKind::Created, now)])?;
        make_and_view(conn, rules, series, &account, now)
    })
}

/// Makes the occurrences of a new or changed `series` within the horizon, and answers it.
fn make_and_view(
    conn: &mut Conn,
    rules: &RuleSet,
    mut series: Series,
    account: &Account,
    now: DateTime<Utc>,
) -> Result<SeriesView> {
    let made = make::make(conn, rules, &[(&series, account)], now, make::Start::Afresh)?;
    series.next_occurrence_at = made.next[0];
    read::view(conn, rules, series, account, now)
}

/// The account `new` names and the series it would be, checked as creating it checks (with
/// `lock`, under the account's lock).
fn checked(
    conn: &mut Conn,
    new: &NewSeries,
    now: DateTime<Utc>,
    lock: bool,
) -> Result<(Account, Series)> {
    let (account, platform) = target(
        conn,
        &new.clip_id,
        &new.social_account_id,
        &new.platform,
        lock,
    )?;
    let series = unsaved(new, platform, now);
    require_future(&series, &account, now)?;
    Ok((account, series))
}

/// The series `new` would be, before it is stored.
fn unsaved(new: &NewSeries, platform: Platform, now: DateTime<Utc>) -> Series {
    let mut exdates = new.exdates.clone();
    exdates.sort_unstable();
    exdates.dedup();
    Series {
        id: new_ordered_id("ser"),
        clip_id: new.clip_id.clone(),
        social_account_id: new.social_account_id.clone(),
        platform,
        dtstart: new.dtstart,
        rule: new.rule.clone(),
        exdates,
        scheduled_by: new.scheduled_by,
        status: SeriesStatus::Active,
        next_occurrence_at: None,
        created_at: now,
        updated_at: now,
    }
}

/// `out_of_range` when `dtstart` falls after the last supported instant in the account's zone;
/// `past_time` unless the series has an occurrence at or after `now`.
fn require_future(series: &Series, account: &Account, now: DateTime<Utc>) -> Result<()> {
    let first = rfc5545_instant(account.timezone, series.dtstart);
    if first > latest_supported() {
        return Err(Refusal::new(
            RefusalKind::OutOfRange,
            format!(
                "dtstart {} is {} in {}, after the last supported instant {}",
                local_text(series.dtstart),
                rfc3339(first),
                account.timezone,
                rfc3339(latest_supported())
            ),
        )
        .into());
    }
    let recurrence = series.recurrence(account.timezone);
    if recurrence.span(now, now).next.is_none() {
        return Err(Refusal::new(
            RefusalKind::PastTime,
            format!(
                "The series has no occurrence from now on (dtstart {}, rule {})",
                local_text(series.dtstart),
                series.rule
            ),
        )
        .into());
    }
    Ok(())
}

/// Changes a series' rule, `dtstart` or `exdates`: its `scheduled` occurrences that the new
/// rule no longer gives are cancelled (and give their occurrence up), the new rule's are made
/// within the horizon, and a `series_updated` event is written, in one write transaction.
/// [`StoreError::NotFound`], [`StoreError::InvalidState`] for a cancelled series, and
/// `past_time` when the new rule has no occurrence from now on.
pub fn update_series(
    conn: &mut Conn,
    rules: &RuleSet,
    id: &str,
    change: &SeriesChange,
    now: DateTime<Utc>,
) -> Result<SeriesView> {
    write_transaction(conn, |conn| {
        let now = now.trunc_subsecs(0);
        let mut series = lock_series(conn, id)?;
        if series.status == SeriesStatus::Cancelled {
            return Err(StoreError::InvalidState(format!(
                "publish series {id} is cancelled"
            )));
        }
        let account = get_account(conn, &series.social_account_id)?;
        lock_accounts(conn, &[&account.id])?;
        let before = (series.dtstart, series.rule.clone(), series.exdates.clone());
        if let Some(dtstart) = change.dtstart {
            series.dtstart = dtstart;
        }
        if let Some(rule) = &change.rule {
            series.rule = rule.clone();
        }
        if let Some(exdates) = &change.exdates {
            series.exdates = exdates.clone();
            series.exdates.sort_unstable();
            series.exdates.dedup();
        }
        if (series.dtstart, series.rule.clone(), series.exdates.clone()) == before {
            // Nothing changes: no event, nothing made or cancelled.
            return read::view(conn, rules, series, &account, now);
        }
        series.updated_at = now;
        require_future(&series, &account, now)?;
        cancel_unfitting(conn, &series, &account, now)?;
        use crate::schema::publish_series::dsl as s;
        let update = diesel::update(s::publish_series.find(id)).set((
            s::dtstart.eq(local_text(series.dtstart)),
            s::rrule.eq(series.rule.to_string()),
            s::exdates.eq(exdates_json(&series.exdates)),
            s::updated_at.eq(now.naive_utc()),
        ));
        on_backend!(conn, |c| update.execute(c))?;
        insert_events(conn, &[series_event(&series, EventKind::Updated, now)])?;
        make_and_view(conn, rules, series, &account, now)
    })
}

/// Cancels the series' `scheduled` logs whose occurrence its (new) rule no longer gives; they
/// give their occurrence up.
fn cancel_unfitting(
    conn: &mut Conn,
    series: &Series,
    account: &Account,
    now: DateTime<Utc>,
) -> Result<()> {
    use crate::schema::publish_logs::dsl as p;
    let made: Vec<(String, Option<String>)> = p::publish_logs
        .filter(p::series_id.eq(&series.id))
        .filter(p::status.eq(Status::Scheduled.as_str()))
        .filter(p::occurrence.is_not_null())
        .select((p::id, p::occurrence))
        .load(conn)?;
    let made: Vec<(String, NaiveDateTime)> = made
        .into_iter()
        .map(|(id, occurrence)| {
            let text = occurrence.unwrap_or_default();
            parse_local(&text).map(|local| (id, local)).map_err(|_| {
                StoreError::Corrupt(format!("publish log has the occurrence {text:?}"))
            })
        })
        .collect::<Result<_>>()?;
    let (Some(first), Some(last)) = (
        made.iter().map(|(_, local)| *local).min(),
        made.iter().map(|(_, local)| *local).max(),
    ) else {
        return Ok(());
    };
    let recurrence = series.recurrence(account.timezone);
    let fitting: HashSet<NaiveDateTime> = recurrence
        .occurrences_near(first)
        .take_while(|o| o.local <= last)
        .map(|o| o.local)
        .collect();
    let mut events = Vec::new();
    for (log_id, _) in made.iter().filter(|(_, local)| !fitting.contains(local)) {
        let update = diesel::update(
            p::publish_logs
                .filter(p::id.eq(log_id))
                .filter(p::status.eq(Status::Scheduled.as_str())),
        )
        .set((
            p::status.eq(Status::Cancelled.as_str()),
            p::occurrence.eq(None::<String>),
            p::updated_at.eq(now.naive_utc()),
        ));
        let log: Option<PublishLog> = on_backend!(conn, |c| update
            .returning(PublishLog::as_returning())
            .get_result(c)
            .optional())?;
        if let Some(log) = log {
            events.push(cancelled_event(&log, now));
        }
    }
    insert_events(conn, &events)?;
    Ok(())
}

/// Cancels a series: its `scheduled` occurrences are cancelled and no more are made, with a
/// `series_cancelled` event. Cancelling a cancelled series changes nothing.
/// [`StoreError::NotFound`] for an unknown series.
pub fn cancel_series(
    conn: &mut Conn,
    rules: &RuleSet,
    id: &str,
    now: DateTime<Utc>,
) -> Result<SeriesView> {
    write_transaction(conn, |conn| {
        let now = now.trunc_subsecs(0);
        let mut series = lock_series(conn, id)?;
        let account = get_account(conn, &series.social_account_id)?;
        // The account's writers wait, as for any change to its posts.
        lock_accounts(conn, &[&account.id])?;
        if series.status == SeriesStatus::Active {
            use crate::schema::publish_logs::dsl as p;
            let update = diesel::update(
                p::publish_logs
                    .filter(p::series_id.eq(id))
                    .filter(p::status.eq(Status::Scheduled.as_str())),
            )
            .set((
                p::status.eq(Status::Cancelled.as_str()),
                p::updated_at.eq(now.naive_utc()),
            ));
            let mut logs: Vec<PublishLog> = on_backend!(conn, |c| update
                .returning(PublishLog::as_returning())
                .get_results(c))?;
            logs.sort_by(|a, b| (a.scheduled_for, &a.id).cmp(&(b.scheduled_for, &b.id)));
            series.status = SeriesStatus::Cancelled;
            series.next_occurrence_at = None;
            series.updated_at = now;
            use crate::schema::publish_series::dsl as s;
            let update = diesel::update(s::publish_series.find(id)).set((
                s::status.eq(SeriesStatus::Cancelled.as_str()),
                s::next_occurrence_at.eq(None::<NaiveDateTime>),
                s::updated_at.eq(now.naive_utc()),
            ));
            on_backend!(conn, |c| update.execute(c))?;
            let mut events: Vec<NewEvent> =
                logs.iter().map(|log| cancelled_event(log, now)).collect();
            events.push(series_event(&series, EventKind::Cancelled, now));
            insert_events(conn, &events)?;
        }
        read::view(conn, rules, series, &account, now)
    })
}

/// The series `id`, locked against other writers of it until the transaction ends
/// (PostgreSQL; SQLite's write transaction holds the database).
fn lock_series(conn: &mut Conn, id: &str) -> Result<Series> {
    let query = publish_series::table.find(id);
    // Built in each arm: a `SelectBy` is typed by its backend.
    let row: Option<SeriesRow> = match conn {
        Conn::Pg(c) => query
            .select(SeriesRow::as_select())
            .for_no_key_update()
            .get_result(c)
            .optional()?,
        Conn::Sqlite(c) => query
            .select(SeriesRow::as_select())
            .get_result(c)
            .optional()?,
    };
    row.ok_or_else(|| StoreError::not_found("publish series", id))?
        .try_into()
}

/// A `publish_scheduled_cancelled` event for `log`.
fn cancelled_event(log: &PublishLog, now: DateTime<Utc>) -> NewEvent {
    NewEvent::about_log(
        &log.id,
        &Cancelled {
            clip_id: &log.clip_id,
            platform: log.platform.as_str(),
            scheduled_for: log.scheduled_for,
            social_account_id: &log.social_account_id,
        },
        now,
    )
}

/// Which series event.
#[derive(Debug, Clone, Copy)]
enum EventKind {
    Created,
    Updated,
    Cancelled,
}

/// The series' event of `kind`.
fn series_event(series: &Series, kind: EventKind, now: DateTime<Utc>) -> NewEvent {
    use crate::events::{SeriesCancelled, SeriesCreated, SeriesFacts, SeriesUpdated};
    let exdates: Vec<String> = series.exdates.iter().map(|t| local_text(*t)).collect();
    let facts = SeriesFacts {
        clip_id: &series.clip_id,
        dtstart: local_text(series.dtstart),
        exdates,
        platform: series.platform.as_str(),
        rrule: series.rule.to_string(),
        scheduled_by: series.scheduled_by.as_str(),
        series_id: &series.id,
        social_account_id: &series.social_account_id,
        status: series.status.as_str(),
    };
    match kind {
        EventKind::Created => NewEvent::about_series(&series.id, &SeriesCreated(facts), now),
        EventKind::Updated => NewEvent::about_series(&series.id, &SeriesUpdated(facts), now),
        EventKind::Cancelled => NewEvent::about_series(&series.id, &SeriesCancelled(facts), now),
    }
}

/// `exdates` as stored: a JSON array of local date-times.
fn exdates_json(exdates: &[NaiveDateTime]) -> String {
    #[derive(Serialize)]
    struct Texts(Vec<String>);
    serde_json::to_string(&Texts(exdates.iter().map(|t| local_text(*t)).collect()))
        .expect("strings serialize")
}

/// A series row as stored.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = publish_series, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct SeriesRow {
    id: String,
    clip_id: String,
    social_account_id: String,
    platform: String,
    dtstart: String,
    rrule: String,
    exdates: String,
    scheduled_by: String,
    status: String,
    #[diesel(deserialize_as = crate::models::MaybeUtcTime)]
    next_occurrence_at: Option<DateTime<Utc>>,
    #[diesel(deserialize_as = UtcTime)]
    created_at: DateTime<Utc>,
    #[diesel(deserialize_as = UtcTime)]
    updated_at: DateTime<Utc>,
}

impl TryFrom<SeriesRow> for Series {
    type Error = StoreError;

    fn try_from(row: SeriesRow) -> Result<Self> {
        let corrupt = |what: &str, value: &str| {
            StoreError::Corrupt(format!(
                "publish series {} has the {what} {value:?}",
                row.id
            ))
        };
        let exdates: Vec<String> =
            serde_json::from_str(&row.exdates).map_err(|_| corrupt("exdates", &row.exdates))?;
        Ok(Series {
            platform: Platform::parse(&row.platform)
                .map_err(|_| corrupt("platform", &row.platform))?,
            dtstart: parse_local(&row.dtstart).map_err(|_| corrupt("dtstart", &row.dtstart))?,
            rule: row
                .rrule
                .parse()
                .map_err(|_| corrupt("rrule", &row.rrule))?,
            exdates: exdates
                .iter()
                .map(|t| parse_local(t).map_err(|_| corrupt("exdate", t)))
                .collect::<Result<_>>()?,
            scheduled_by: row
                .scheduled_by
                .parse()
                .map_err(|_| corrupt("scheduled_by", &row.scheduled_by))?,
            status: row
                .status
                .parse()
                .map_err(|_| corrupt("status", &row.status))?,
            next_occurrence_at: row.next_occurrence_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            clip_id: row.clip_id,
            social_account_id: row.social_account_id,
            id: row.id,
        })
    }
}
