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

mod change;
mod events;
mod make;
mod read;
mod row;
mod write;

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use scheduler_core::{
    latest_supported, local_text, rfc3339, rfc5545_instant, Platform, Priority, Recurrence, Rrule,
    RuleSet, Zone,
};

use crate::conn::{on_backend, write_transaction, Conn};
use crate::error::{Refusal, RefusalKind, Result};
use crate::events::insert_events;
use crate::models::{stored_names, Account, ScheduledBy, Status};
use crate::new_ordered_id;
use crate::schedule::target;
use crate::schema::publish_series;

pub use change::{cancel_series, update_series};
use events::{series_event, EventKind};
pub(crate) use make::extend_due;
pub use read::{
    get_series, list_series, preview_series, SeriesFilter, SeriesPage, DEFAULT_SERIES_PAGE,
    MAX_SERIES_PAGE,
};
use row::exdates_json;
pub(crate) use row::SeriesRow;

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
    /// Its occurrences' priority (claims and ticks take higher first).
    pub priority: Priority,
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
    /// Its occurrences' priority.
    pub priority: Priority,
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
            s::priority.eq(series.priority.rank()),
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
        priority: new.priority,
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
