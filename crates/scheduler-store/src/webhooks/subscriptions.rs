//! Subscribing, reading subscriptions and ending them.

use chrono::{DateTime, SubsecRound, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::{NewSubscription, Subscription};
use crate::conn::{on_backend, write_transaction, Conn};
use crate::error::{Result, StoreError};
use crate::events::EventType;
use crate::models::UtcTime;
use crate::new_ordered_id;
use crate::schema::ledger_events::dsl as l;
use crate::schema::webhook_subscriptions::dsl as s;

/// A subscription as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = crate::schema::webhook_subscriptions, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(super) struct Row {
    id: String,
    url: String,
    event_types: Option<String>,
    description: Option<String>,
    secret: String,
    #[diesel(deserialize_as = UtcTime)]
    created_at: DateTime<Utc>,
}

impl TryFrom<Row> for Subscription {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self> {
        let event_types = row
            .event_types
            .map(|text| {
                let names: Vec<String> = serde_json::from_str(&text).map_err(|e| {
                    StoreError::Corrupt(format!("webhook {}: event types: {e}", row.id))
                })?;
                names
                    .iter()
                    .map(|name| name.parse::<EventType>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| StoreError::Corrupt(format!("webhook {}: {e}", row.id)))
            })
            .transpose()?;
        Ok(Self {
            id: row.id,
            url: row.url,
            event_types,
            description: row.description,
            secret: row.secret,
            created_at: row.created_at,
        })
    }
}

/// Makes a subscription: every event whose transaction had not committed when it was made is
/// delivered to it, and none committed before.
pub fn create_subscription(
    conn: &mut Conn,
    new: &NewSubscription,
    now: DateTime<Utc>,
) -> Result<Subscription> {
    let id = new_ordered_id("wh");
    let event_types = new
        .event_types
        .as_ref()
        .map(|types| {
            serde_json::to_string(&types.iter().map(EventType::as_str).collect::<Vec<_>>())
        })
        .transpose()
        .map_err(|e| StoreError::Internal(e.to_string()))?;
    let now = now.trunc_subsecs(0);
    write_transaction(conn, |conn| {
        let (txid, seq, snapshot) = match conn {
            // The feed returns no event of a transaction at or after the snapshot's oldest
            // running one yet; of those, the ones the snapshot sees were committed before.
            Conn::Pg(c) => {
                let snapshot: String =
                    diesel::select(sql::<Text>("txid_current_snapshot()::text")).get_result(c)?;
                let xmin = Snapshot::parse(&snapshot)?.xmin;
                (xmin, 0, Some(snapshot))
            }
            // One writer at a time: the last event is the frontier.
            Conn::Sqlite(c) => (
                0,
                l::ledger_events
                    .select(diesel::dsl::max(l::seq))
                    .get_result::<Option<i64>>(c)?
                    .unwrap_or(0),
                None,
            ),
        };
        let insert = diesel::insert_into(s::webhook_subscriptions).values((
            s::id.eq(&id),
            s::url.eq(&new.url),
            s::event_types.eq(&event_types),
            s::description.eq(&new.description),
            s::secret.eq(&new.secret),
            s::created_at.eq(now.naive_utc()),
            s::feed_txid.eq(txid),
            s::feed_seq.eq(seq),
            s::feed_snapshot.eq(snapshot),
        ));
        on_backend!(conn, |c| insert.execute(c))?;
        get_subscription(conn, &id)
    })
}

/// One subscription, or [`StoreError::NotFound`].
pub fn get_subscription(conn: &mut Conn, id: &str) -> Result<Subscription> {
    let query = s::webhook_subscriptions.find(id);
    on_backend!(conn, |c| query
        .select(Row::as_select())
        .get_result(c)
        .optional())?
    .ok_or_else(|| StoreError::not_found("webhook", id))?
    .try_into()
}

/// Every subscription, oldest first.
pub fn list_subscriptions(conn: &mut Conn) -> Result<Vec<Subscription>> {
    let query = s::webhook_subscriptions.order((s::created_at.asc(), s::id.asc()));
    on_backend!(conn, |c| query.select(Row::as_select()).load(c))?
        .into_iter()
        .map(Subscription::try_from)
        .collect()
}

/// Ends a subscription, its deliveries with it (a deliverer's attempt in flight reports to no
/// row). [`StoreError::NotFound`] when there is none.
pub fn delete_subscription(conn: &mut Conn, id: &str) -> Result<()> {
    write_transaction(conn, |conn| {
        use crate::schema::webhook_deliveries::dsl as d;
        let deliveries = diesel::delete(d::webhook_deliveries.filter(d::subscription_id.eq(id)));
        on_backend!(conn, |c| deliveries.execute(c))?;
        let subscription = diesel::delete(s::webhook_subscriptions.find(id));
        match on_backend!(conn, |c| subscription.execute(c))? {
            0 => Err(StoreError::not_found("webhook", id)),
            _ => Ok(()),
        }
    })
}

/// A PostgreSQL snapshot as `txid_current_snapshot()` writes it: `xmin:xmax:xip,…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Snapshot {
    /// Every transaction before it had ended.
    pub xmin: i64,
    /// No transaction from it on had started.
    xmax: i64,
    /// The transactions running between them.
    running: Vec<i64>,
}

impl Snapshot {
    pub(super) fn parse(text: &str) -> Result<Self> {
        let corrupt = || StoreError::Corrupt(format!("not a snapshot: {text:?}"));
        let mut parts = text.splitn(3, ':');
        let number = |part: Option<&str>| part.and_then(|p| p.parse().ok()).ok_or_else(corrupt);
        let xmin = number(parts.next())?;
        let xmax = number(parts.next())?;
        let running = match parts.next() {
            Some("") | None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|t| t.parse().map_err(|_| corrupt()))
                .collect::<Result<_>>()?,
        };
        Ok(Self {
            xmin,
            xmax,
            running,
        })
    }

    /// Whether transaction `txid` had committed (or ended) when the snapshot was taken.
    pub(super) fn saw(&self, txid: i64) -> bool {
        txid < self.xmin || (txid < self.xmax && !self.running.contains(&txid))
    }
}

#[cfg(test)]
mod tests {
    use super::Snapshot;

    #[test]
    fn a_snapshot_sees_what_had_ended_before_it() {
        // As PostgreSQL writes one: the oldest running transaction is its xmin.
        let snapshot = Snapshot::parse("10:20:10,15").unwrap();
        for (txid, saw) in [
            (9, true),
            (10, false),
            (11, true),
            (15, false),
            (19, true),
            (20, false),
            (25, false),
        ] {
            assert_eq!(snapshot.saw(txid), saw, "{txid}");
        }
        assert_eq!(Snapshot::parse("7:7:").unwrap().xmin, 7);
        assert!(Snapshot::parse("7").is_err() && Snapshot::parse("a:b:").is_err());
    }
}
