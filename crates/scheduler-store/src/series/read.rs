//! Reading series with their next occurrences, and previewing one before it exists.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use diesel::prelude::*;
use scheduler_core::{bounded_by_next, local_text, RuleSet, SeriesOccurrence, ToPlan};

use super::{checked, NewSeries, Series, SeriesRow, SeriesStatus, SeriesView};
use super::{Upcoming, NEXT_SHOWN};
use crate::accounts::get_account;
use crate::calendar::plan_occurrences_for;
use crate::conn::{on_backend, Conn};
use crate::error::{Result, StoreError};
use crate::models::{Account, MaybeUtcTime};
use crate::schema::publish_series;

/// The most series one [`list_series`] page holds.
pub const MAX_SERIES_PAGE: u32 = 100;

/// The series a [`list_series`] page holds when no limit is given.
pub const DEFAULT_SERIES_PAGE: u32 = 20;

/// Which series [`list_series`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesFilter {
    /// Only the account's.
    pub social_account_id: Option<String>,
    /// Only series after this one (the `next` of the page before).
    pub after: Option<String>,
    /// At most this many (clamped to `1..=`[`MAX_SERIES_PAGE`]).
    pub limit: u32,
}

impl Default for SeriesFilter {
    fn default() -> Self {
        Self {
            social_account_id: None,
            after: None,
            limit: DEFAULT_SERIES_PAGE,
        }
    }
}

/// A page of series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesPage {
    /// Oldest first.
    pub items: Vec<SeriesView>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<String>,
}

/// One series with its next occurrences, or [`StoreError::NotFound`].
pub fn get_series(
    conn: &mut Conn,
    rules: &RuleSet,
    id: &str,
    now: DateTime<Utc>,
) -> Result<SeriesView> {
    let query = publish_series::table.find(id);
    let row: Option<SeriesRow> = on_backend!(conn, |c| query
        .select(SeriesRow::as_select())
        .get_result(c)
        .optional())?;
    let series: Series = row
        .ok_or_else(|| StoreError::not_found("publish series", id))?
        .try_into()?;
    let account = get_account(conn, &series.social_account_id)?;
    view(conn, rules, series, &account, now.trunc_subsecs(0))
}

/// The series `filter` selects, oldest first, a page at a time, each with its next
/// occurrences.
pub fn list_series(
    conn: &mut Conn,
    rules: &RuleSet,
    filter: &SeriesFilter,
    now: DateTime<Utc>,
) -> Result<SeriesPage> {
    use crate::schema::publish_series::dsl as s;
    let limit = filter.limit.clamp(1, MAX_SERIES_PAGE);
    let mut query = s::publish_series.into_boxed();
    if let Some(account) = &filter.social_account_id {
        query = query.filter(s::social_account_id.eq(account));
    }
    if let Some(after) = &filter.after {
        query = query.filter(s::id.gt(after));
    }
    let mut rows: Vec<SeriesRow> = query
        .order(s::id.asc())
        .limit(i64::from(limit) + 1)
        .select(SeriesRow::as_select())
        .load(conn)?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id.clone())
    } else {
        None
    };
    let now = now.trunc_subsecs(0);
    let mut accounts: HashMap<String, Account> = HashMap::new();
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let series = Series::try_from(row)?;
        let account = match accounts.get(&series.social_account_id) {
            Some(account) => account.clone(),
            None => {
                let account = get_account(conn, &series.social_account_id)?;
                accounts.insert(account.id.clone(), account.clone());
                account
            }
        };
        items.push(view(conn, rules, series, &account, now)?);
    }
    Ok(SeriesPage { items, next })
}

/// What [`super::create_series`] would make, writing nothing: the series (its id not stored)
/// and its next occurrences planned among the account's posts as they are now. Refused as
/// creating it would be.
pub fn preview_series(
    conn: &mut Conn,
    rules: &RuleSet,
    new: &NewSeries,
    now: DateTime<Utc>,
) -> Result<SeriesView> {
    let now = now.trunc_subsecs(0);
    let (account, series) = checked(conn, new, now, false)?;
    view(conn, rules, series, &account, now)
}

/// `series` with its next occurrences.
pub(super) fn view(
    conn: &mut Conn,
    rules: &RuleSet,
    series: Series,
    account: &Account,
    now: DateTime<Utc>,
) -> Result<SeriesView> {
    let next_occurrences = if series.status == SeriesStatus::Active {
        upcoming(conn, rules, &series, account, now)?
    } else {
        Vec::new()
    };
    Ok(SeriesView {
        series,
        timezone: account.timezone,
        next_occurrences,
    })
}

/// A made occurrence's log: id, status, slot and reason.
type MadeLog = (String, String, Option<DateTime<Utc>>, Option<String>);

/// The series' next [`NEXT_SHOWN`] occurrences at or after `now`: each made one as its log
/// stands, the others planned in order among the account's posts as they are now.
fn upcoming(
    conn: &mut Conn,
    rules: &RuleSet,
    series: &Series,
    account: &Account,
    now: DateTime<Utc>,
) -> Result<Vec<Upcoming>> {
    // One more than shown: the last one shown is bound by it.
    let mut next: Vec<SeriesOccurrence> = series
        .recurrence(account.timezone)
        .after(now)
        .take(NEXT_SHOWN + 1)
        .collect();
    let then = (next.len() > NEXT_SHOWN)
        .then(|| next.pop().map(|o| o.at))
        .flatten();
    let bounded = bounded_by_next(&next, then);
    let keys: Vec<String> = next.iter().map(|o| local_text(o.local)).collect();
    use crate::schema::publish_logs::dsl as p;
    type Row = (Option<String>, String, String, MaybeUtcTime, Option<String>);
    let rows: Vec<Row> = p::publish_logs
        .filter(p::series_id.eq(&series.id))
        .filter(p::occurrence.eq_any(&keys))
        .select((p::occurrence, p::id, p::status, p::scheduled_for, p::reason))
        .load(conn)?;
    let made: HashMap<String, MadeLog> = rows
        .into_iter()
        .filter_map(|(occurrence, id, status, at, reason)| {
            Some((occurrence?, (id, status, at.into(), reason)))
        })
        .collect();
    let unmade: Vec<ToPlan> = bounded
        .into_iter()
        .zip(&keys)
        .filter(|(_, key)| !made.contains_key(*key))
        .map(|(o, _)| o)
        .collect();
    let mut planned = plan_occurrences_for(conn, rules, &[(account, unmade)], now)?
        .pop()
        .unwrap_or_default()
        .into_iter();
    next.iter()
        .zip(keys)
        .map(|(o, key)| {
            Ok(match made.get(&key) {
                Some((id, status, at, reason)) => Upcoming {
                    occurrence: o.local,
                    occurrence_at: o.at,
                    log: Some((
                        id.clone(),
                        status.parse().map_err(|_| {
                            StoreError::Corrupt(format!(
                                "publish log {id} has the status {status:?}"
                            ))
                        })?,
                    )),
                    scheduled_for: *at,
                    reason: reason.clone().unwrap_or_default(),
                },
                None => {
                    let planned = planned.next().ok_or_else(|| {
                        StoreError::Internal("an occurrence was not planned".to_owned())
                    })?;
                    match planned.plan {
                        Ok(plan) => Upcoming {
                            occurrence: o.local,
                            occurrence_at: o.at,
                            log: None,
                            scheduled_for: Some(plan.scheduled_for),
                            reason: plan.reason,
                        },
                        Err(rejection) => Upcoming {
                            occurrence: o.local,
                            occurrence_at: o.at,
                            log: None,
                            scheduled_for: None,
                            reason: rejection.to_string(),
                        },
                    }
                }
            })
        })
        .collect()
}
