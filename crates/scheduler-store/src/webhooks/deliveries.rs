//! Deliveries: claiming them with a lease, recording what each attempt got, listing them and
//! trying one again by hand.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::dsl::{exists, sql};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Double, Integer, Nullable, Text, Timestamp};

use super::subscriptions::{get_subscription, Row};
use super::{
    storable, Attempted, ClaimedDelivery, Delivery, DeliveryClaim, DeliveryFilter, DeliveryPage,
    DeliveryStatus, RetrySchedule, Subscription, MAX_CLAIM, MAX_ERROR_BYTES, MAX_PAGE,
    MAX_RESPONSE_BYTES,
};
use crate::conn::{on_backend, write_transaction, Conn};
use crate::error::{Result, StoreError};
use crate::models::LedgerEvent;
use crate::schema::ledger_events::dsl as l;
use crate::schema::webhook_deliveries::dsl as d;
use crate::schema::webhook_subscriptions::dsl as s;

/// The condition of the partial index of due deliveries, as a literal: SQLite uses a partial
/// index only for a query that says its condition, not a bound parameter.
const PENDING: &str = "webhook_deliveries.status = 'pending'";

/// The subscriptions with a delivery due now: one index probe each.
pub fn due_subscriptions(conn: &mut Conn, host_now: DateTime<Utc>) -> Result<Vec<Subscription>> {
    macro_rules! query {
        ($now:expr) => {
            s::webhook_subscriptions
                .filter(exists(
                    d::webhook_deliveries
                        .filter(d::subscription_id.eq(s::id))
                        .filter(sql::<Bool>(PENDING))
                        .filter(d::next_attempt_at.le($now)),
                ))
                .order(s::id)
                .select(Row::as_select())
        };
    }
    let rows: Vec<Row> = match conn {
        Conn::Pg(c) => query!(sql::<Timestamp>("now()").nullable()).load(c)?,
        Conn::Sqlite(c) => query!(host_now.naive_utc()).load(c)?,
    };
    // One unreadable row (edited by hand) must not stop the others' deliveries.
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Subscription::try_from(row)
                .map_err(|e| log::error!("webhooks: skipping a subscription: {e}"))
                .ok()
        })
        .collect())
}

/// A claimed row as PostgreSQL's claim returns it.
#[derive(QueryableByName)]
struct ClaimedRow {
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = Text)]
    entity_type: String,
    #[diesel(sql_type = Text)]
    entity_id: String,
    #[diesel(sql_type = Text)]
    metadata: String,
    #[diesel(sql_type = Timestamp)]
    created_at: chrono::NaiveDateTime,
    #[diesel(sql_type = BigInt)]
    txid: i64,
}

/// Claims up to `limit` (clamped to `1..=`[`MAX_CLAIM`]) due deliveries of one subscription,
/// soonest due first, for `lease`: each attempt is counted, and each delivery is due again
/// when the lease ends unless a report about it comes first. Claims at once on any number of
/// hosts take each delivery once.
pub fn claim_deliveries(
    conn: &mut Conn,
    subscription_id: &str,
    limit: u32,
    lease: Duration,
    host_now: DateTime<Utc>,
) -> Result<DeliveryClaim> {
    let limit = i64::from(limit.clamp(1, MAX_CLAIM));
    let token = uuid::Uuid::new_v4().simple().to_string();
    let deliveries = match conn {
        // One statement: the rows locked and skipped by other claims, updated, and read back
        // with their events.
        Conn::Pg(c) => diesel::sql_query(
            "WITH due AS MATERIALIZED ( \
               SELECT event_seq FROM webhook_deliveries \
               WHERE subscription_id = $1 AND status = 'pending' AND next_attempt_at <= now() \
               ORDER BY next_attempt_at, event_seq LIMIT $2 FOR UPDATE SKIP LOCKED) \
             UPDATE webhook_deliveries AS d \
             SET attempts = d.attempts + 1, lease_token = $3, \
               next_attempt_at = now() + make_interval(secs => $4), updated_at = now() \
             FROM due JOIN ledger_events AS e ON e.seq = due.event_seq \
             WHERE d.subscription_id = $1 AND d.event_seq = due.event_seq \
             RETURNING d.attempts, e.seq, e.id, e.event_type, e.entity_type, e.entity_id, \
               e.metadata, e.created_at, e.txid",
        )
        .bind::<Text, _>(subscription_id)
        .bind::<BigInt, _>(limit)
        .bind::<Text, _>(&token)
        .bind::<Double, _>(lease.as_secs_f64())
        .load::<ClaimedRow>(c)?
        .into_iter()
        .map(|row| {
            let metadata = serde_json::from_str(&row.metadata)
                .map_err(|e| StoreError::Corrupt(format!("event {}: metadata: {e}", row.id)))?;
            Ok(ClaimedDelivery {
                attempt: row.attempts,
                event: LedgerEvent {
                    seq: row.seq,
                    id: row.id,
                    event_type: row.event_type,
                    entity_type: row.entity_type,
                    entity_id: row.entity_id,
                    metadata,
                    created_at: row.created_at.and_utc(),
                    txid: row.txid,
                },
            })
        })
        .collect::<Result<Vec<_>>>()?,
        // The write lock keeps other claims out.
        Conn::Sqlite(_) => write_transaction(conn, |conn| {
            let Conn::Sqlite(c) = conn else {
                unreachable!("matched above")
            };
            let now = host_now.naive_utc();
            let seqs: Vec<i64> = d::webhook_deliveries
                .filter(d::subscription_id.eq(subscription_id))
                .filter(sql::<Bool>(PENDING))
                .filter(d::next_attempt_at.le(now))
                .order((d::next_attempt_at.asc(), d::event_seq.asc()))
                .limit(limit)
                .select(d::event_seq)
                .load(c)?;
            let until = host_now + TimeDelta::from_std(lease).unwrap_or(TimeDelta::MAX);
            diesel::update(
                d::webhook_deliveries
                    .filter(d::subscription_id.eq(subscription_id))
                    .filter(d::event_seq.eq_any(&seqs)),
            )
            .set((
                d::attempts.eq(d::attempts + 1),
                d::lease_token.eq(&token),
                d::next_attempt_at.eq(until.naive_utc()),
                d::updated_at.eq(now),
            ))
            .execute(c)?;
            let rows: Vec<(i32, LedgerEvent)> = d::webhook_deliveries
                .inner_join(l::ledger_events.on(l::seq.eq(d::event_seq)))
                .filter(d::subscription_id.eq(subscription_id))
                .filter(d::event_seq.eq_any(&seqs))
                .order(d::event_seq)
                .select((d::attempts, LedgerEvent::as_select()))
                .load(c)?;
            Ok::<_, StoreError>(
                rows.into_iter()
                    .map(|(attempt, event)| ClaimedDelivery { event, attempt })
                    .collect(),
            )
        })?,
    };
    Ok(DeliveryClaim {
        subscription_id: subscription_id.to_owned(),
        lease_token: token,
        deliveries,
    })
}

/// What a report makes of one attempt: the status, and the wait before the next attempt.
fn settle(attempt: &Attempted, schedule: &RetrySchedule) -> (DeliveryStatus, Option<Duration>) {
    if attempt.delivered {
        return (DeliveryStatus::Delivered, None);
    }
    match schedule.after(attempt.attempt) {
        Some(wait) => (DeliveryStatus::Pending, Some(wait)),
        None => (DeliveryStatus::Failed, None),
    }
}

/// Records what the attempts of `claim` got: delivered, due again after the schedule's wait,
/// or failed after the last. Only deliveries `claim`'s token still holds change (another
/// deliverer may have claimed one whose lease ran out: its report counts, not this one). The
/// number of deliveries changed.
pub fn report_deliveries(
    conn: &mut Conn,
    claim: &DeliveryClaim,
    attempts: &[Attempted],
    schedule: &RetrySchedule,
    host_now: DateTime<Utc>,
) -> Result<usize> {
    if attempts.is_empty() {
        return Ok(0);
    }
    let settled: Vec<(DeliveryStatus, Option<Duration>)> =
        attempts.iter().map(|a| settle(a, schedule)).collect();
    let error = |a: &Attempted| a.error.as_deref().map(|e| storable(e, MAX_ERROR_BYTES));
    let response = |a: &Attempted| {
        a.response
            .as_deref()
            .map(|r| storable(r, MAX_RESPONSE_BYTES))
    };
    Ok(match conn {
        // One statement for the whole claim, on the database's clock.
        Conn::Pg(c) => diesel::sql_query(
            "UPDATE webhook_deliveries AS d \
             SET status = r.status, last_status = r.http_status, last_error = r.error, \
               last_response = r.response, lease_token = NULL, updated_at = now(), \
               next_attempt_at = CASE WHEN r.status = 'pending' \
                 THEN now() + make_interval(secs => r.wait) END, \
               delivered_at = CASE WHEN r.status = 'delivered' THEN now() END \
             FROM unnest($3::bigint[], $4::text[], $5::int[], $6::text[], $7::text[], $8::float8[]) \
               AS r(event_seq, status, http_status, error, response, wait) \
             WHERE d.subscription_id = $1 AND d.lease_token = $2 AND d.event_seq = r.event_seq \
               AND d.status = 'pending'",
        )
        .bind::<Text, _>(&claim.subscription_id)
        .bind::<Text, _>(&claim.lease_token)
        .bind::<Array<BigInt>, _>(attempts.iter().map(|a| a.event_seq).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(settled.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>())
        .bind::<Array<Nullable<Integer>>, _>(
            attempts
                .iter()
                .map(|a| a.status.map(i32::from))
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<Text>>, _>(attempts.iter().map(error).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(attempts.iter().map(response).collect::<Vec<_>>())
        .bind::<Array<Double>, _>(
            settled
                .iter()
                .map(|(_, wait)| wait.map_or(0.0, |w| w.as_secs_f64()))
                .collect::<Vec<_>>(),
        )
        .execute(c)?,
        Conn::Sqlite(_) => write_transaction(conn, |conn| {
            let Conn::Sqlite(c) = conn else {
                unreachable!("matched above")
            };
            let now = host_now.naive_utc();
            let mut count = 0;
            for (attempt, (status, wait)) in attempts.iter().zip(&settled) {
                let next = wait.map(|w| {
                    (host_now + TimeDelta::from_std(w).unwrap_or(TimeDelta::MAX)).naive_utc()
                });
                let delivered_at = (*status == DeliveryStatus::Delivered).then_some(now);
                count += diesel::update(
                    d::webhook_deliveries
                        .filter(d::subscription_id.eq(&claim.subscription_id))
                        .filter(d::event_seq.eq(attempt.event_seq))
                        .filter(d::lease_token.eq(&claim.lease_token))
                        .filter(d::status.eq(DeliveryStatus::Pending.as_str())),
                )
                .set((
                    d::status.eq(status.as_str()),
                    d::last_status.eq(attempt.status.map(i32::from)),
                    d::last_error.eq(error(attempt)),
                    d::last_response.eq(response(attempt)),
                    d::lease_token.eq(None::<String>),
                    d::updated_at.eq(now),
                    d::next_attempt_at.eq(next),
                    d::delivered_at.eq(delivered_at),
                ))
                .execute(c)?;
            }
            Ok::<_, StoreError>(count)
        })?,
    })
}

/// A subscription's deliveries, newest event first. [`StoreError::NotFound`] for an unknown
/// subscription.
pub fn list_deliveries(
    conn: &mut Conn,
    subscription_id: &str,
    filter: &DeliveryFilter,
) -> Result<DeliveryPage> {
    get_subscription(conn, subscription_id)?;
    let limit = filter.limit.clamp(1, MAX_PAGE);
    let mut query = d::webhook_deliveries
        .filter(d::subscription_id.eq(subscription_id))
        .into_boxed();
    if let Some(status) = filter.status {
        // A literal, so that SQLite can use the partial index of its status.
        query = query.filter(sql::<Bool>(&format!(
            "webhook_deliveries.status = '{}'",
            status.as_str()
        )));
    }
    if let Some(before) = filter.before {
        query = query.filter(d::event_seq.lt(before));
    }
    let mut deliveries: Vec<Delivery> = query
        .order(d::event_seq.desc())
        .limit(i64::from(limit) + 1)
        .select(Delivery::as_select())
        .load(conn)?;
    let next = if deliveries.len() > limit as usize {
        deliveries.truncate(limit as usize);
        deliveries.last().map(|d| d.event_seq)
    } else {
        None
    };
    Ok(DeliveryPage { deliveries, next })
}

/// Makes the delivery of event `event_id` to the subscription due now, its attempts started
/// over: a failed one is tried again, a delivered one is sent again (receivers drop the
/// duplicate by its `webhook-id`), and an event the subscription wants that has no delivery
/// yet (written before the subscription) gets one. [`StoreError::NotFound`] for an unknown
/// subscription or event, or an event of a type the subscription does not take.
pub fn retry_delivery(
    conn: &mut Conn,
    subscription_id: &str,
    event_id: &str,
    host_now: DateTime<Utc>,
) -> Result<Delivery> {
    write_transaction(conn, |conn| {
        let subscription = get_subscription(conn, subscription_id)?;
        let event: Option<(i64, String)> = on_backend!(conn, |c| l::ledger_events
            .filter(l::id.eq(event_id))
            .select((l::seq, l::event_type))
            .get_result(c)
            .optional())?;
        let Some((seq, event_type)) = event.filter(|(_, t)| subscription.wants(t)) else {
            return Err(StoreError::not_found("webhook event", event_id));
        };
        let pending = DeliveryStatus::Pending.as_str();
        match conn {
            Conn::Pg(c) => {
                diesel::sql_query(
                    "INSERT INTO webhook_deliveries AS d (subscription_id, event_seq, event_id, \
                       event_type, status, attempts, next_attempt_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, 0, now(), now(), now()) \
                     ON CONFLICT (subscription_id, event_seq) DO UPDATE \
                     SET status = $5, attempts = 0, next_attempt_at = now(), lease_token = NULL, \
                       delivered_at = NULL, updated_at = now()",
                )
                .bind::<Text, _>(subscription_id)
                .bind::<BigInt, _>(seq)
                .bind::<Text, _>(event_id)
                .bind::<Text, _>(&event_type)
                .bind::<Text, _>(pending)
                .execute(c)?;
            }
            Conn::Sqlite(c) => {
                let now = host_now.naive_utc();
                diesel::insert_into(d::webhook_deliveries)
                    .values((
                        d::subscription_id.eq(subscription_id),
                        d::event_seq.eq(seq),
                        d::event_id.eq(event_id),
                        d::event_type.eq(&event_type),
                        d::status.eq(pending),
                        d::attempts.eq(0),
                        d::next_attempt_at.eq(now),
                        d::created_at.eq(now),
                        d::updated_at.eq(now),
                    ))
                    .on_conflict((d::subscription_id, d::event_seq))
                    .do_update()
                    .set((
                        d::status.eq(pending),
                        d::attempts.eq(0),
                        d::next_attempt_at.eq(now),
                        d::lease_token.eq(None::<String>),
                        d::delivered_at.eq(None::<chrono::NaiveDateTime>),
                        d::updated_at.eq(now),
                    ))
                    .execute(c)?;
            }
        }
        let query = d::webhook_deliveries.find((subscription_id, seq));
        Ok(on_backend!(conn, |c| query
            .select(Delivery::as_select())
            .get_result(c))?)
    })
}
