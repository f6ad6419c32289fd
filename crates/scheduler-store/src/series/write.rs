//! Writing what a making planned: the occurrences' logs (`ON CONFLICT DO NOTHING` on the
//! unique (series, occurrence) key), their events, and each series' next occurrence.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, SmallInt, Text, Timestamp};
use scheduler_core::Plan;

use super::Series;
use crate::conn::{on_backend, Conn};
use crate::error::Result;
use crate::events::{Adjusted, Created, NewEvent};
use crate::models::{Account, Status, SCHEDULE_TYPE_SCHEDULED};
use crate::schema::publish_logs;

/// A log to make for an occurrence.
pub(super) struct NewRow<'a> {
    pub series: &'a Series,
    pub occurrence: String,
    pub plan: Plan,
    pub log_id: String,
}

impl NewRow<'_> {
    pub fn id(&self) -> &str {
        &self.log_id
    }

    /// Its `publish_scheduled_created` event, and `publish_scheduled_adjusted` when the rules
    /// moved it.
    pub fn events(&self, now: DateTime<Utc>) -> Vec<NewEvent> {
        let series = self.series;
        let plan = &self.plan;
        let mut events = vec![NewEvent::about_log(
            &self.log_id,
            &Created {
                clip_id: &series.clip_id,
                occurrence: Some(&self.occurrence),
                platform: series.platform.as_str(),
                requested_for: plan.requested_for,
                scheduled_by: series.scheduled_by.as_str(),
                scheduled_for: plan.scheduled_for,
                scheduled_window_end: plan.scheduled_window_end,
                series_id: Some(&series.id),
                social_account_id: &series.social_account_id,
                status: Status::Scheduled.as_str(),
            },
            now,
        )];
        if plan.is_adjusted() {
            events.push(NewEvent::about_log(
                &self.log_id,
                &Adjusted {
                    adjusted_time: plan.scheduled_for,
                    clip_id: &series.clip_id,
                    original_time: plan.requested_for,
                    platform: series.platform.as_str(),
                    reason: &plan.reason,
                },
                now,
            ));
        }
        events
    }
}

/// An id `RETURNING` gave back.
#[derive(QueryableByName)]
struct InsertedId {
    #[diesel(sql_type = Text)]
    id: String,
}

/// A row of `publish_logs` for an occurrence.
#[derive(Insertable)]
#[diesel(table_name = publish_logs)]
struct LogValues<'a> {
    id: &'a str,
    clip_id: &'a str,
    platform: &'a str,
    social_account_id: &'a str,
    status: &'static str,
    schedule_type: &'static str,
    scheduled_for: NaiveDateTime,
    scheduled_window_end: NaiveDateTime,
    scheduled_by: &'static str,
    requested_for: NaiveDateTime,
    reason: &'a str,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    series_id: &'a str,
    occurrence: &'a str,
    priority: i16,
    window_end_given: bool,
}

/// Inserts the rows whose occurrence has no log yet (`ON CONFLICT DO NOTHING`); the ids of
/// those that went in. PostgreSQL: one `INSERT … SELECT FROM unnest(…) … RETURNING id` for all;
/// SQLite, where a statement costs no round trip: one row each, kept prepared.
pub(super) fn insert_logs(
    conn: &mut Conn,
    rows: &[NewRow],
    now: NaiveDateTime,
) -> Result<HashSet<String>> {
    let values: Vec<LogValues> = rows
        .iter()
        .map(|row| LogValues {
            id: &row.log_id,
            clip_id: &row.series.clip_id,
            platform: row.series.platform.as_str(),
            social_account_id: &row.series.social_account_id,
            status: Status::Scheduled.as_str(),
            schedule_type: SCHEDULE_TYPE_SCHEDULED,
            scheduled_for: row.plan.scheduled_for.naive_utc(),
            scheduled_window_end: row.plan.scheduled_window_end.naive_utc(),
            scheduled_by: row.series.scheduled_by.as_str(),
            requested_for: row.plan.requested_for.naive_utc(),
            reason: &row.plan.reason,
            created_at: now,
            updated_at: now,
            series_id: &row.series.id,
            occurrence: &row.occurrence,
            priority: row.series.priority.rank(),
            // The end is the window's, or the series' next occurrence: both bound a move.
            window_end_given: true,
        })
        .collect();
    let mut inserted = HashSet::with_capacity(values.len());
    match conn {
        Conn::Pg(c) => {
            let column = |f: for<'v> fn(&'v LogValues<'v>) -> &'v str| {
                values.iter().map(f).collect::<Vec<_>>()
            };
            let time =
                |f: fn(&LogValues) -> NaiveDateTime| values.iter().map(f).collect::<Vec<_>>();
            // One statement over one array per column, the same text whatever the count, so
            // PostgreSQL keeps it prepared (a multi-row VALUES is parsed and planned anew).
            let ids: Vec<InsertedId> = diesel::sql_query(
                "INSERT INTO publish_logs (id, clip_id, platform, social_account_id, status, \
                 schedule_type, scheduled_for, scheduled_window_end, scheduled_by, requested_for, \
                 reason, created_at, updated_at, series_id, occurrence, priority, \
                 window_end_given) \
                 SELECT r.id, r.clip_id, r.platform, r.account, $12, $13, r.slot, r.window_end, \
                 r.scheduled_by, r.requested, r.reason, $14, $14, r.series, r.occurrence, r.priority, TRUE \
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], \
                 $5::timestamptz[], $6::timestamptz[], $7::text[], $8::timestamptz[], \
                 $9::text[], $10::text[], $11::text[], $15::smallint[]) \
                 AS r(id, clip_id, platform, account, slot, window_end, scheduled_by, requested, \
                 reason, series, occurrence, priority) \
                 ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind::<Array<Text>, _>(column(|v| v.id))
            .bind::<Array<Text>, _>(column(|v| v.clip_id))
            .bind::<Array<Text>, _>(column(|v| v.platform))
            .bind::<Array<Text>, _>(column(|v| v.social_account_id))
            .bind::<Array<Timestamp>, _>(time(|v| v.scheduled_for))
            .bind::<Array<Timestamp>, _>(time(|v| v.scheduled_window_end))
            .bind::<Array<Text>, _>(column(|v| v.scheduled_by))
            .bind::<Array<Timestamp>, _>(time(|v| v.requested_for))
            .bind::<Array<Text>, _>(column(|v| v.reason))
            .bind::<Array<Text>, _>(column(|v| v.series_id))
            .bind::<Array<Text>, _>(column(|v| v.occurrence))
            .bind::<Text, _>(Status::Scheduled.as_str())
            .bind::<Text, _>(SCHEDULE_TYPE_SCHEDULED)
            .bind::<Timestamp, _>(now)
            .bind::<Array<SmallInt>, _>(values.iter().map(|v| v.priority).collect::<Vec<_>>())
            .load(c)?;
            inserted.extend(ids.into_iter().map(|r| r.id));
        }
        Conn::Sqlite(c) => {
            for row in &values {
                let count = diesel::insert_into(publish_logs::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(c)?;
                if count == 1 {
                    inserted.insert(row.id.to_owned());
                }
            }
        }
    }
    Ok(inserted)
}

/// Stores each series' next occurrence not made. PostgreSQL: one statement over arrays;
/// SQLite: one each.
pub(super) fn set_next(
    conn: &mut Conn,
    batch: &[(&Series, &Account)],
    next: &[Option<DateTime<Utc>>],
) -> Result<()> {
    use crate::schema::publish_series::dsl as s;
    let next: Vec<Option<NaiveDateTime>> = next.iter().map(|t| t.map(|t| t.naive_utc())).collect();
    match conn {
        Conn::Pg(c) if batch.len() > 1 => {
            let ids: Vec<&str> = batch.iter().map(|(series, _)| series.id.as_str()).collect();
            diesel::sql_query(
                "UPDATE publish_series AS s SET next_occurrence_at = v.next \
                 FROM unnest($1::text[], $2::timestamptz[]) AS v(id, next) WHERE s.id = v.id",
            )
            .bind::<Array<Text>, _>(ids)
            .bind::<Array<Nullable<Timestamp>>, _>(next)
            .execute(c)?;
        }
        _ => {
            for ((series, _), next) in batch.iter().zip(next) {
                let update = diesel::update(s::publish_series.find(&series.id))
                    .set(s::next_occurrence_at.eq(next));
                on_backend!(conn, |c| update.execute(c))?;
            }
        }
    }
    Ok(())
}
