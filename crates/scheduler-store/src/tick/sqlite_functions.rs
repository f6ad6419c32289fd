//! SQL functions the store gives its SQLite connections, so that a statement can run the
//! store's own Rust code for each row: the tick builds a batch's events in one `INSERT …
//! SELECT` with them, with the event ids and metadata every other event gets. Only the store's
//! statements name them (no view, trigger or default does), so the database file stays
//! readable by any SQLite.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::sql_types::{Nullable, Text, Timestamp};
use diesel::sqlite::{Sqlite, SqliteValue};
use diesel::{QueryResult, SqliteConnection};

use crate::events::{metadata_json, Enqueued};

diesel::define_sql_function! {
    /// A new ledger event id, as every event gets one ([`crate::new_ordered_id`]).
    fn scheduler_new_event_id() -> Text;
}
diesel::define_sql_function! {
    /// The metadata of a `publish_scheduled_enqueued` event ([`Enqueued`]).
    fn scheduler_enqueued_metadata(
        clip_id: Text,
        platform: Text,
        social_account_id: Text,
        scheduled_for: Nullable<Timestamp>,
        enqueued_at: Text,
    ) -> Text;
}

/// Registers the functions on a new connection.
pub(crate) fn register(c: &mut SqliteConnection) -> QueryResult<()> {
    scheduler_new_event_id_utils::register_nondeterministic_impl(c, || {
        crate::new_ordered_id("evt")
    })?;
    scheduler_enqueued_metadata_utils::register_impl(
        c,
        |clip_id: String,
         platform: String,
         social_account_id: String,
         scheduled_for: Option<StoredTime>,
         enqueued_at: String| {
            metadata_json(&Enqueued {
                clip_id: &clip_id,
                enqueued_at: &enqueued_at,
                platform: &platform,
                scheduled_for: scheduled_for.map(|t| t.0.and_utc()),
                social_account_id: &social_account_id,
            })
        },
    )
}

/// A stored `TIMESTAMP`, read as diesel reads a `NaiveDateTime`, but without chrono's
/// format parser for the form the store writes whole seconds in (`2026-01-31 18:00:00`):
/// that parser was 5% of a tick's instructions (`valgrind --tool=callgrind`).
#[derive(Debug, FromSqlRow)]
struct StoredTime(NaiveDateTime);

impl FromSql<Timestamp, Sqlite> for StoredTime {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        if let Some(at) = whole_seconds(value.read_text()) {
            return Ok(Self(at));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(Self)
    }
}

/// `YYYY-MM-DD HH:MM:SS` exactly, as a valid time; `None` for anything else.
fn whole_seconds(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    let separators = [(4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':')];
    if b.len() != 19 || separators.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let number = |from: usize, to: usize| {
        b[from..to].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(number(0, 4)?).ok()?;
    NaiveDate::from_ymd_opt(year, number(5, 7)?, number(8, 10)?)?.and_hms_opt(
        number(11, 13)?,
        number(14, 16)?,
        number(17, 19)?,
    )
}

#[cfg(test)]
mod tests {
    use super::whole_seconds;

    #[test]
    fn whole_seconds_reads_only_the_form_the_store_writes() {
        let check = |text: &str, expected: Option<&str>| {
            let parsed = whole_seconds(text).map(|t| t.format("%F %T").to_string());
            assert_eq!(parsed.as_deref(), expected, "{text}");
        };
        check("2026-01-31 18:00:07", Some("2026-01-31 18:00:07"));
        check("0001-01-01 00:00:00", Some("0001-01-01 00:00:00"));
        // Everything else goes to diesel's own parser.
        check("2026-01-31 18:00:07.5", None);
        check("2026-01-31T18:00:07", None);
        check("2026-01-31 18:00", None);
        check("2026-02-30 18:00:00", None);
        check("2026-01-31 24:00:00", None);
        check("2026-01-31 18:00:60", None);
        check("2026-01-31 1a:00:00", None);
        check("+026-01-31 18:00:00", None);
    }
}
