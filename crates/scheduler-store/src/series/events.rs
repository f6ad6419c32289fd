//! The ledger events a series writes.

use chrono::{DateTime, Utc};
use scheduler_core::local_text;

use super::Series;
use crate::events::{Cancelled, NewEvent};
use crate::models::PublishLog;

/// A `publish_scheduled_cancelled` event for `log`.
pub(super) fn cancelled_event(log: &PublishLog, now: DateTime<Utc>) -> NewEvent {
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
pub(super) enum EventKind {
    Created,
    Updated,
    Cancelled,
}

/// The series' event of `kind`.
pub(super) fn series_event(series: &Series, kind: EventKind, now: DateTime<Utc>) -> NewEvent {
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
