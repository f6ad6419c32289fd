//! Making deliveries from the ledger's feed.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};

use super::subscriptions::{Row, Snapshot};
use super::{DeliveryStatus, Subscription};
use crate::conn::{on_backend, write_transaction, Conn};
use crate::cursor::FeedCursor;
use crate::error::Result;
use crate::ledger::feed;
use crate::schema::webhook_deliveries::dsl as d;
use crate::schema::webhook_subscriptions::dsl as s;

/// Whether the feed holds events past some subscription's position: a read, for deliverers
/// to call before [`fan_out`], whose transaction locks the subscriptions.
pub fn fan_out_waiting(conn: &mut Conn) -> Result<bool> {
    let positions: Vec<(i64, i64)> = on_backend!(conn, |c| s::webhook_subscriptions
        .select((s::feed_txid, s::feed_seq))
        .load(c))?;
    let Some(start) = positions
        .into_iter()
        .map(|(txid, seq)| FeedCursor { txid, seq })
        .min()
    else {
        return Ok(false);
    };
    Ok(!feed(conn, start, 1)?.events.is_empty())
}

/// What one [`fan_out`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FanOut {
    /// Deliveries made.
    pub made: usize,
    /// Events read from the feed.
    pub read: usize,
    /// Whether the feed may hold more: a full page was read.
    pub more: bool,
}

/// Reads up to `limit` events of the feed after the positions of the subscriptions no other
/// fan-out holds, makes a pending delivery, due now, for each event a subscription wants, and
/// moves the positions past what was read: one transaction. On PostgreSQL the subscriptions'
/// rows are locked for it (`FOR UPDATE SKIP LOCKED`), so fan-outs on several hosts take turns
/// without waiting on each other; on SQLite the write lock keeps other fan-outs out.
pub fn fan_out(conn: &mut Conn, limit: u32, host_now: DateTime<Utc>) -> Result<FanOut> {
    write_transaction(conn, |conn| {
        // A macro, not a closure: the selection's type differs per backend.
        macro_rules! positions {
            () => {
                s::webhook_subscriptions.order(s::id).select((
                    Row::as_select(),
                    s::feed_txid,
                    s::feed_seq,
                    s::feed_snapshot,
                ))
            };
        }
        let rows: Vec<(Row, i64, i64, Option<String>)> = match conn {
            Conn::Pg(c) => positions!().for_update().skip_locked().load(c)?,
            Conn::Sqlite(c) => positions!().load(c)?,
        };
        // A row that cannot be read (edited by hand) is left where it is, for a person: it
        // must not stop the other subscriptions' deliveries.
        let subscriptions: Vec<_> = rows
            .into_iter()
            .filter_map(|(row, txid, seq, snapshot)| {
                let snapshot = snapshot.as_deref().map(Snapshot::parse).transpose();
                match (Subscription::try_from(row), snapshot) {
                    (Ok(subscription), Ok(snapshot)) => {
                        Some((subscription, FeedCursor { txid, seq }, snapshot))
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        log::error!("webhooks: skipping a subscription: {e}");
                        None
                    }
                }
            })
            .collect();
        let Some(start) = subscriptions.iter().map(|(_, at, _)| *at).min() else {
            return Ok(FanOut::default());
        };
        let page = feed(conn, start, limit)?;
        let mut made = Deliveries::default();
        for (subscription, at, snapshot) in &subscriptions {
            for event in &page.events {
                let before = snapshot.as_ref().is_some_and(|s| s.saw(event.txid));
                if FeedCursor::after(event) > *at
                    && !before
                    && subscription.wants(&event.event_type)
                {
                    made.subscription_id.push(subscription.id.clone());
                    made.event_seq.push(event.seq);
                    made.event_id.push(event.id.clone());
                    made.event_type.push(event.event_type.clone());
                }
            }
            let reached = page.next.max(*at);
            if reached != *at {
                let moved = diesel::update(s::webhook_subscriptions.find(&subscription.id))
                    .set((s::feed_txid.eq(reached.txid), s::feed_seq.eq(reached.seq)));
                on_backend!(conn, |c| moved.execute(c))?;
            }
        }
        let count = made.insert(conn, host_now)?;
        Ok(FanOut {
            made: count,
            read: page.events.len(),
            more: page.events.len() >= limit.clamp(1, crate::ledger::MAX_LIST_LIMIT) as usize,
        })
    })
}

/// New deliveries, a column each.
#[derive(Default)]
struct Deliveries {
    subscription_id: Vec<String>,
    event_seq: Vec<i64>,
    event_id: Vec<String>,
    event_type: Vec<String>,
}

impl Deliveries {
    /// Inserts the deliveries, pending and due now; one that exists already stays as it is.
    fn insert(&self, conn: &mut Conn, host_now: DateTime<Utc>) -> Result<usize> {
        if self.event_seq.is_empty() {
            return Ok(0);
        }
        let pending = DeliveryStatus::Pending.as_str();
        Ok(match conn {
            // One statement for the page, kept prepared, on the database's clock.
            Conn::Pg(c) => diesel::sql_query(
                "INSERT INTO webhook_deliveries (subscription_id, event_seq, event_id, event_type, \
                   status, attempts, next_attempt_at, created_at, updated_at) \
                 SELECT sub, seq, id, type, $5, 0, now(), now(), now() \
                 FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) AS n(sub, seq, id, type) \
                 ON CONFLICT DO NOTHING",
            )
            .bind::<Array<Text>, _>(&self.subscription_id)
            .bind::<Array<BigInt>, _>(&self.event_seq)
            .bind::<Array<Text>, _>(&self.event_id)
            .bind::<Array<Text>, _>(&self.event_type)
            .bind::<Text, _>(pending)
            .execute(c)?,
            Conn::Sqlite(c) => {
                let now = host_now.naive_utc();
                let mut count = 0;
                for i in 0..self.event_seq.len() {
                    count += diesel::insert_into(d::webhook_deliveries)
                        .values((
                            d::subscription_id.eq(&self.subscription_id[i]),
                            d::event_seq.eq(self.event_seq[i]),
                            d::event_id.eq(&self.event_id[i]),
                            d::event_type.eq(&self.event_type[i]),
                            d::status.eq(pending),
                            d::attempts.eq(0),
                            d::next_attempt_at.eq(now),
                            d::created_at.eq(now),
                            d::updated_at.eq(now),
                        ))
                        .on_conflict_do_nothing()
                        .execute(c)?;
                }
                count
            }
        })
    }
}
