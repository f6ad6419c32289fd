//! Making series' occurrences into publish logs: at creation, after a change, and at every
//! tick for the series whose next occurrence has come within the horizon.
//!
//! A batch of series is made in one transaction: their occurrences in the horizon less those
//! already made, planned per account in one pass (the accounts' posts read in one statement),
//! the logs inserted with `ON CONFLICT DO NOTHING` on the unique (series, occurrence) key and
//! events written for the rows that went in, and each series' next occurrence moved past the
//! horizon.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text};
use scheduler_core::{
    local_text, PlannedOccurrence, Rejection, RuleSet, SeriesOccurrence, ToPlan, PAST_TOLERANCE,
};

use super::write::{insert_logs, set_next, NewRow};
use super::{Series, SeriesRow, SeriesStatus};
use crate::account_lock::lock_accounts;
use crate::calendar::plan_occurrences_for;
use crate::conn::Conn;
use crate::error::Result;
use crate::events::insert_events;
use crate::models::Account;
use crate::new_ordered_id;
use crate::schema::social_accounts;
use crate::tick::due;

/// What [`make`] did.
#[derive(Debug, Default)]
pub(crate) struct Made {
    /// The logs made.
    pub log_ids: Vec<String>,
    /// Each series' next occurrence not made, in the order given.
    pub next: Vec<Option<DateTime<Utc>>>,
}

/// Makes the occurrences of `batch` (series with their accounts) that lie within the horizon
/// from `now` (or from where each series goes on, see [`Start`]) and have no log yet, and
/// moves each series' `next_occurrence_at` past the horizon. The caller holds the accounts'
/// locks (and, on PostgreSQL, the series rows).
pub(crate) fn make(
    conn: &mut Conn,
    rules: &RuleSet,
    batch: &[(&Series, &Account)],
    now: DateTime<Utc>,
    start: Start,
) -> Result<Made> {
    let (pending, next) = pending(conn, rules, batch, now, start)?;

    // Each account's occurrences together, in time order, so that gaps and caps hold between
    // its series as between any posts; each with the index of its series in `batch`.
    type AccountWork<'a> = (&'a Account, Vec<(usize, ToPlan)>);
    let mut by_account: BTreeMap<&str, AccountWork> = BTreeMap::new();
    for (index, occurrences) in pending.iter().enumerate() {
        let account = batch[index].1;
        let entry = by_account
            .entry(account.id.as_str())
            .or_insert_with(|| (account, Vec::new()));
        entry.1.extend(occurrences.iter().map(|o| (index, *o)));
    }
    let mut work = Vec::with_capacity(by_account.len());
    let mut owners = Vec::with_capacity(by_account.len());
    for (account, mut occurrences) in by_account.into_values() {
        occurrences.sort_by_key(|(index, o)| (o.occurrence.at, o.occurrence.local, *index));
        owners.push(
            occurrences
                .iter()
                .map(|(index, _)| *index)
                .collect::<Vec<_>>(),
        );
        work.push((account, occurrences.into_iter().map(|(_, o)| o).collect()));
    }
    let planned = plan_occurrences_for(conn, rules, &work, now)?;

    let now_naive = now.naive_utc();
    let mut rows = Vec::new();
    for (plans, owners) in planned.into_iter().zip(&owners) {
        for (PlannedOccurrence { occurrence, plan }, &index) in plans.into_iter().zip(owners) {
            let series = batch[index].0;
            match plan {
                Ok(plan) => rows.push(NewRow {
                    series,
                    occurrence: local_text(occurrence.local),
                    plan,
                    log_id: new_ordered_id("log"),
                }),
                Err(rejection) => skipped(series, occurrence, &rejection),
            }
        }
    }
    let inserted = insert_logs(conn, &rows, now_naive)?;

    let mut events = Vec::new();
    for row in rows.iter().filter(|row| inserted.contains(row.id())) {
        events.extend(row.events(now));
    }
    insert_events(conn, &events)?;
    set_next(conn, batch, &next)?;

    let log_ids = rows
        .into_iter()
        .filter(|row| inserted.contains(row.id()))
        .map(|row| row.log_id)
        .collect();
    Ok(Made { log_ids, next })
}

/// An occurrence no slot fits is not made; a person sees why in the series' next occurrences
/// before it comes within the horizon.
fn skipped(series: &Series, occurrence: SeriesOccurrence, rejection: &Rejection) {
    log::warn!(
        "series {}: occurrence {} not made: {rejection}",
        series.id,
        local_text(occurrence.local)
    );
}

/// Each series' occurrences within the horizon from `now` that have no log, each bound by the
/// series' next occurrence, and where each series goes on after the horizon.
#[allow(clippy::type_complexity)]
fn pending(
    conn: &mut Conn,
    rules: &RuleSet,
    batch: &[(&Series, &Account)],
    now: DateTime<Utc>,
    start: Start,
) -> Result<(Vec<Vec<ToPlan>>, Vec<Option<DateTime<Utc>>>)> {
    let end = horizon_end(rules, now);
    // An occurrence up to PAST_TOLERANCE ago is planned from now, as a request would be.
    let from = now - PAST_TOLERANCE;
    let spans: Vec<_> = batch
        .iter()
        .map(|(series, account)| {
            let from = match start {
                Start::Resume => series
                    .next_occurrence_at
                    .map_or(from, |next| next.max(from)),
                Start::Afresh => from,
            };
            series.recurrence(account.timezone).span(from, end)
        })
        .collect();
    let keys: Vec<(&str, String)> = spans
        .iter()
        .zip(batch)
        .flat_map(|(span, (series, _))| {
            span.within
                .iter()
                .map(|o| (series.id.as_str(), local_text(o.local)))
        })
        .collect();
    let made = made_occurrences(conn, &keys)?;
    let pending = spans
        .iter()
        .zip(batch)
        .map(|(span, (series, _))| {
            span.to_plan()
                .into_iter()
                .filter(|o| !made.contains(&(series.id.clone(), local_text(o.occurrence.local))))
                .collect()
        })
        .collect();
    Ok((pending, spans.iter().map(|s| s.next).collect()))
}

/// Where a making starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// From each series' `next_occurrence_at`, where the last making stopped (the tick).
    Resume,
    /// From now (a new or changed rule).
    Afresh,
}

/// The end of the horizon from `now`: occurrences before it are made.
pub(super) fn horizon_end(rules: &RuleSet, now: DateTime<Utc>) -> DateTime<Utc> {
    (now + rules.series_horizon().duration()).min(scheduler_core::latest_supported())
}

/// Which of the (series, occurrence) `keys` already have a log, looked up by the unique key.
/// PostgreSQL: one statement joining the keys to it; SQLite: one lookup each.
fn made_occurrences(conn: &mut Conn, keys: &[(&str, String)]) -> Result<HashSet<(String, String)>> {
    use crate::schema::publish_logs::dsl as p;
    let mut made = HashSet::new();
    if keys.is_empty() {
        return Ok(made);
    }
    match conn {
        Conn::Pg(c) => {
            let series: Vec<&str> = keys.iter().map(|(s, _)| *s).collect();
            let occurrences: Vec<&str> = keys.iter().map(|(_, o)| o.as_str()).collect();
            let rows: Vec<MadeKey> = diesel::sql_query(
                "SELECT l.series_id, l.occurrence \
                 FROM unnest($1::text[], $2::text[]) AS k(series_id, occurrence) \
                 JOIN publish_logs AS l \
                   ON l.series_id = k.series_id AND l.occurrence = k.occurrence",
            )
            .bind::<Array<Text>, _>(series)
            .bind::<Array<Text>, _>(occurrences)
            .load(c)?;
            made.extend(rows.into_iter().map(|r| (r.series_id, r.occurrence)));
        }
        Conn::Sqlite(c) => {
            for (series, occurrence) in keys {
                let found = diesel::select(diesel::dsl::exists(
                    p::publish_logs
                        .filter(p::series_id.eq(*series))
                        .filter(p::occurrence.eq(occurrence)),
                ))
                .get_result::<bool>(c)?;
                if found {
                    made.insert(((*series).to_owned(), occurrence.clone()));
                }
            }
        }
    }
    Ok(made)
}

/// A row of [`made_occurrences`]' statement.
#[derive(QueryableByName)]
struct MadeKey {
    #[diesel(sql_type = Text)]
    series_id: String,
    #[diesel(sql_type = Text)]
    occurrence: String,
}

/// What one batch of the tick's series making did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Extended {
    /// The series it took.
    pub series: usize,
    /// The logs it made (on a dry run: the occurrences there are to make).
    pub logs: usize,
}

/// One batch of the tick: makes the occurrences of up to `limit` active series whose next
/// occurrence has come within the horizon, soonest first, in the caller's write transaction.
/// PostgreSQL skips series rows another transaction holds, so ticks at once share the work.
/// `dry_run` counts the occurrences there are to make and writes nothing.
pub(crate) fn extend_due(
    conn: &mut Conn,
    rules: &RuleSet,
    host_now: DateTime<Utc>,
    limit: i64,
    dry_run: bool,
) -> Result<Extended> {
    use crate::schema::publish_series::dsl as s;
    let now = due::now(conn, host_now)?;
    let end = horizon_end(rules, now).naive_utc();
    let due = s::publish_series
        .filter(s::next_occurrence_at.lt(end))
        .filter(s::status.eq(SeriesStatus::Active.as_str()))
        .order((s::next_occurrence_at.asc(), s::id.asc()))
        .limit(limit);
    // Built in each arm: a `SelectBy` is typed by its backend.
    let rows: Vec<SeriesRow> = match conn {
        Conn::Pg(c) if !dry_run => due
            .select(SeriesRow::as_select())
            .for_no_key_update()
            .skip_locked()
            .load(c)?,
        Conn::Pg(c) => due.select(SeriesRow::as_select()).load(c)?,
        Conn::Sqlite(c) => due.select(SeriesRow::as_select()).load(c)?,
    };
    if rows.is_empty() {
        return Ok(Extended::default());
    }
    let series: Vec<Series> = rows
        .into_iter()
        .map(Series::try_from)
        .collect::<Result<_>>()?;
    let account_ids: Vec<&str> = series
        .iter()
        .map(|s| s.social_account_id.as_str())
        .collect();
    let accounts: BTreeMap<String, Account> = social_accounts::table
        .filter(social_accounts::id.eq_any(&account_ids))
        .select(Account::as_select())
        .load::<Account>(conn)?
        .into_iter()
        .map(|a| (a.id.clone(), a))
        .collect();
    // Every series' account exists: the foreign key says so.
    let batch: Vec<(&Series, &Account)> = series
        .iter()
        .filter_map(|s| accounts.get(&s.social_account_id).map(|a| (s, a)))
        .collect();
    let logs = if dry_run {
        let (pending, _) = pending(conn, rules, &batch, now, Start::Resume)?;
        pending.iter().map(Vec::len).sum()
    } else {
        lock_accounts(conn, &account_ids)?;
        make(conn, rules, &batch, now, Start::Resume)?.log_ids.len()
    };
    Ok(Extended {
        series: series.len(),
        logs,
    })
}
