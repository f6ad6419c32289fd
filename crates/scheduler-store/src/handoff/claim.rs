//! Claiming: pending logs become `processing`, each with its own lease.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Text};

use super::{Claim, ClaimRequest, LEASE_SECONDS, MAX_CLAIM};
use crate::conn::{on_backend, write_transaction, Conn};
use crate::error::{Result, StoreError};
use crate::events::{insert_events, Claimed, NewEvent};
use crate::models::{Account, Clip, PublishLog, Status};
use crate::schema::publish_logs::dsl as p;
use crate::schema::{clips, social_accounts};

/// Claims up to `request.limit` `pending` logs, the highest priority first, then the oldest
/// `scheduled_for`, then id (the partial index `publish_logs_pending_by_priority` gives them
/// in that order): each
/// becomes `processing` with a fresh lease token, its attempt counted, and a
/// `publish_claimed` event. Any number of claims may run at once: each log goes to one.
pub fn claim(
    conn: &mut Conn,
    request: &ClaimRequest,
    host_now: DateTime<Utc>,
) -> Result<Vec<Claim>> {
    let limit = request.limit.clamp(1, MAX_CLAIM);
    let lease = TimeDelta::seconds(i64::from(
        request
            .lease_seconds
            .clamp(*LEASE_SECONDS.start(), *LEASE_SECONDS.end()),
    ));
    let platforms: Vec<String> = request
        .platforms
        .iter()
        .map(|p| p.as_str().to_owned())
        .collect();
    write_transaction(conn, |conn| {
        let tokens: Vec<String> = (0..limit)
            .map(|_| uuid::Uuid::new_v4().simple().to_string())
            .collect();
        let ids: Vec<String> = match conn {
            // One statement: the claim locks its rows and skips those another claim holds,
            // and the update numbers them to give each its own token.
            Conn::Pg(c) => {
                #[derive(QueryableByName)]
                struct Id {
                    #[diesel(sql_type = Text)]
                    id: String,
                }
                let ids: Vec<Id> = diesel::sql_query(
                    "WITH claimed AS MATERIALIZED ( \
                       SELECT id, scheduled_for, priority FROM publish_logs \
                       WHERE status = 'pending' AND scheduled_for IS NOT NULL \
                         AND (cardinality($2::text[]) = 0 OR platform = ANY($2)) \
                       ORDER BY priority DESC, scheduled_for, id \
                       LIMIT $1 \
                       FOR UPDATE SKIP LOCKED), \
                     numbered AS ( \
                       SELECT id, row_number() OVER (ORDER BY priority DESC, scheduled_for, id) AS n \
                       FROM claimed) \
                     UPDATE publish_logs AS p \
                     SET status = $3, attempt = p.attempt + 1, lease_token = ($4::text[])[numbered.n], \
                       lease_expires_at = date_trunc('second', now()) + make_interval(secs => $5), \
                       leased_by = $6, updated_at = date_trunc('second', now()) \
                     FROM numbered WHERE p.id = numbered.id \
                     RETURNING p.id",
                )
                // `status` is written out, not bound, so that the partial index's condition
                // holds for every plan of the prepared statement.
                .bind::<BigInt, _>(i64::from(limit))
                .bind::<Array<Text>, _>(&platforms)
                .bind::<Text, _>(Status::Processing.as_str())
                .bind::<Array<Text>, _>(&tokens)
                .bind::<Integer, _>(lease.num_seconds() as i32)
                .bind::<Text, _>(&request.worker_id)
                .load(c)?;
                ids.into_iter().map(|i| i.id).collect()
            }
            // SQLite's write lock already keeps other claims out.
            Conn::Sqlite(c) => {
                let now = host_now.trunc_subsecs(0);
                // A log without a time (another program's) cannot be answered: left alone.
                // `status` written out, as on PostgreSQL, so that SQLite may use the partial
                // index (a bound value cannot prove its condition).
                let mut query = p::publish_logs
                    .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                        "status = 'pending'",
                    ))
                    .filter(p::scheduled_for.is_not_null())
                    .into_boxed();
                if !platforms.is_empty() {
                    query = query.filter(p::platform.eq_any(&platforms));
                }
                let ids: Vec<String> = query
                    .order((p::priority.desc(), p::scheduled_for.asc(), p::id.asc()))
                    .limit(i64::from(limit))
                    .select(p::id)
                    .load(c)?;
                for (id, token) in ids.iter().zip(&tokens) {
                    diesel::update(p::publish_logs.find(id))
                        .set((
                            p::status.eq(Status::Processing.as_str()),
                            p::attempt.eq(p::attempt + 1),
                            p::lease_token.eq(token),
                            p::lease_expires_at.eq((now + lease).naive_utc()),
                            p::leased_by.eq(&request.worker_id),
                            p::updated_at.eq(now.naive_utc()),
                        ))
                        .execute(c)?;
                }
                ids
            }
        };
        // The claimed logs with their tokens, clips and accounts: one query, in the claim's order.
        let rows: Vec<(PublishLog, Option<String>, Clip, Account)> =
            on_backend!(conn, |c| p::publish_logs
                .inner_join(clips::table)
                .inner_join(social_accounts::table)
                .filter(p::id.eq_any(&ids))
                .order((p::priority.desc(), p::scheduled_for.asc(), p::id.asc()))
                .select((
                    PublishLog::as_select(),
                    p::lease_token,
                    Clip::as_select(),
                    Account::as_select(),
                ))
                .load(c))?;
        if rows.len() != ids.len() {
            return Err(StoreError::Corrupt(format!(
                "claimed {} logs but read back {}",
                ids.len(),
                rows.len()
            )));
        }
        let claims: Vec<Claim> = rows
            .into_iter()
            .map(|(log, lease_token, clip, account)| {
                let lease_token = lease_token.ok_or_else(|| {
                    StoreError::Corrupt(format!("claimed log {} has no lease", log.id))
                })?;
                Ok(Claim {
                    lease_expires_at: log.lease_expires_at.unwrap_or(log.updated_at),
                    attempt: log.attempt,
                    lease_token,
                    clip,
                    account,
                    log,
                })
            })
            .collect::<Result<_>>()?;
        let events: Vec<NewEvent> = claims
            .iter()
            .map(|claim| {
                let log = &claim.log;
                let claimed = Claimed {
                    attempt: claim.attempt,
                    clip_id: &log.clip_id,
                    lease_expires_at: claim.lease_expires_at,
                    platform: log.platform.as_str(),
                    social_account_id: &log.social_account_id,
                    worker_id: &request.worker_id,
                };
                NewEvent::about_log(&log.id, &claimed, log.updated_at)
            })
            .collect();
        insert_events(conn, &events)?;
        Ok(claims)
    })
}
