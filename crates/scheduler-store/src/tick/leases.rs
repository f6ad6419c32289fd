//! The tick's second duty: a `processing` log whose worker's lease ran out becomes
//! `unconfirmed` with a `publish_lease_expired` event. The worker may have published it before
//! it stopped, so it is never tried again by itself: a person (or the user's adapter) says.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};

use crate::conn::Conn;
use crate::error::Result;
use crate::events::{insert_events, LeaseExpired, NewEvent};
use crate::models::Status;
use crate::schema::publish_logs::dsl as p;

/// What an expired lease leaves in `last_error`.
pub(crate) const LEASE_EXPIRED: &str =
    "the worker's lease expired before it reported: the post may or may not be published";

/// The condition of the partial index on leases, as a literal (see `list_logs`).
const PROCESSING: &str = "status = 'processing'";

/// The `processing` logs whose lease ended at `now` (a `NaiveDateTime`), soonest ended first.
macro_rules! expired_leases {
    ($now:expr) => {
        p::publish_logs
            .filter(sql::<Bool>(PROCESSING))
            .filter(p::lease_expires_at.le($now))
            .order((p::lease_expires_at.asc(), p::id.asc()))
    };
}

/// The ids of the logs whose lease has ended, for a dry run.
pub(super) fn expired_ids(conn: &mut Conn, now: DateTime<Utc>) -> Result<Vec<String>> {
    let now = now.naive_utc();
    Ok(crate::conn::on_backend!(conn, |c| expired_leases!(now)
        .select(p::id)
        .load(c))?)
}

/// One batch: up to `limit` logs whose lease has ended become `unconfirmed`, each with its
/// event; returns their ids (none when none has). `now` is the database clock on PostgreSQL
/// and `host_now` on SQLite. The caller holds the write transaction.
pub(super) fn expire(conn: &mut Conn, host_now: DateTime<Utc>, limit: i64) -> Result<Vec<String>> {
    #[derive(QueryableByName)]
    struct Expired {
        #[diesel(sql_type = Text)]
        id: String,
        #[diesel(sql_type = Text)]
        clip_id: String,
        #[diesel(sql_type = Text)]
        platform: String,
        #[diesel(sql_type = Text)]
        social_account_id: String,
        #[diesel(sql_type = Nullable<Text>)]
        leased_by: Option<String>,
        #[diesel(sql_type = Integer)]
        attempt: i32,
        #[diesel(sql_type = Timestamp)]
        updated_at: NaiveDateTime,
    }
    let mut expired: Vec<Expired> = match conn {
        // One statement, as the tick's claim: locked rows are being reported on right now.
        Conn::Pg(c) => diesel::sql_query(format!(
            "WITH expired AS MATERIALIZED ( \
               SELECT id FROM publish_logs \
               WHERE {PROCESSING} AND lease_expires_at <= date_trunc('second', now()) \
               ORDER BY lease_expires_at, id \
               LIMIT $1 \
               FOR UPDATE SKIP LOCKED) \
             UPDATE publish_logs AS p \
             SET status = $2, last_error = $3, lease_token = NULL, lease_expires_at = NULL, \
               updated_at = date_trunc('second', now()) \
             FROM expired WHERE p.id = expired.id \
             RETURNING p.id, p.clip_id, p.platform, p.social_account_id, p.leased_by, p.attempt, \
               p.updated_at"
        ))
        .bind::<BigInt, _>(limit)
        .bind::<Text, _>(Status::Unconfirmed.as_str())
        .bind::<Text, _>(LEASE_EXPIRED)
        .load(c)?,
        // SQLite's write lock keeps everyone else out.
        Conn::Sqlite(c) => {
            let now = host_now.trunc_subsecs(0).naive_utc();
            let ids: Vec<String> = expired_leases!(now).limit(limit).select(p::id).load(c)?;
            let mut expired = Vec::with_capacity(ids.len());
            for id in ids {
                let (clip_id, platform, social_account_id, leased_by, attempt) =
                    diesel::update(p::publish_logs.find(&id))
                        .set((
                            p::status.eq(Status::Unconfirmed.as_str()),
                            p::last_error.eq(LEASE_EXPIRED),
                            p::lease_token.eq(None::<String>),
                            p::lease_expires_at.eq(None::<NaiveDateTime>),
                            p::updated_at.eq(now),
                        ))
                        .returning((
                            p::clip_id,
                            p::platform,
                            p::social_account_id,
                            p::leased_by,
                            p::attempt,
                        ))
                        .get_result(c)?;
                expired.push(Expired {
                    id,
                    clip_id,
                    platform,
                    social_account_id,
                    leased_by,
                    attempt,
                    updated_at: now,
                });
            }
            expired
        }
    };
    expired.sort_by(|a, b| a.id.cmp(&b.id));
    let events: Vec<NewEvent> = expired
        .iter()
        .map(|e| {
            let metadata = LeaseExpired {
                attempt: e.attempt,
                clip_id: &e.clip_id,
                platform: &e.platform,
                social_account_id: &e.social_account_id,
                worker_id: e.leased_by.as_deref(),
            };
            NewEvent::about_log(&e.id, &metadata, e.updated_at.and_utc())
        })
        .collect();
    insert_events(conn, &events)?;
    Ok(expired.into_iter().map(|e| e.id).collect())
}
