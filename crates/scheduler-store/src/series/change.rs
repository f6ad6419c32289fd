//! Changing a series' rule and cancelling a series.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use scheduler_core::{local_text, parse_local, RuleSet};

use super::events::cancelled_event;
use super::{
    exdates_json, make_and_view, read, require_future, series_event, EventKind, Series,
    SeriesChange, SeriesRow, SeriesStatus, SeriesView,
};
use crate::account_lock::lock_accounts;
use crate::accounts::get_account;
use crate::conn::{on_backend, write_transaction, Conn};
use crate::error::{Result, StoreError};
use crate::events::{insert_events, NewEvent};
use crate::models::{Account, PublishLog, Status};
use crate::schema::publish_series;

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
