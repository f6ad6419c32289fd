//! A series row as stored, and reading it back into a [`Series`].

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use scheduler_core::{local_text, parse_local, Platform, Priority};
use serde::Serialize;

use super::Series;
use crate::error::{Result, StoreError};
use crate::models::UtcTime;
use crate::schema::publish_series;

/// `exdates` as stored: a JSON array of local date-times.
pub(super) fn exdates_json(exdates: &[NaiveDateTime]) -> String {
    #[derive(Serialize)]
    struct Texts(Vec<String>);
    serde_json::to_string(&Texts(exdates.iter().map(|t| local_text(*t)).collect()))
        .expect("strings serialize")
}

/// A series row as stored.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = publish_series, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct SeriesRow {
    pub(super) id: String,
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
    priority: i16,
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
            priority: Priority::try_from(row.priority)
                .map_err(|_| corrupt("priority", &row.priority.to_string()))?,
            next_occurrence_at: row.next_occurrence_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            clip_id: row.clip_id,
            social_account_id: row.social_account_id,
            id: row.id,
        })
    }
}
