//! Engagement (contract section 13): the latest snapshot of a published post's figures, kept
//! with its log as JSON (`publish_logs.engagement`), written by `complete` or by a later report.
//! The best-time suggestions read them.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use diesel::dsl::sum;
use diesel::prelude::*;
use diesel::upsert::excluded;
use scheduler_core::{log_views, HourOfWeek, Tally, Zone};
use serde_json::{json, Map, Value};

use crate::accounts::get_account;
use crate::conn::{on_backend, write_transaction, Conn};
use crate::error::{Result, StoreError};
use crate::logs::not_in;
use crate::models::{Account, PublishLog, Status};

/// A snapshot of a post's figures; each is absent when the platform did not give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Engagement {
    /// Views (or plays, impressions: what the platform counts as seen).
    pub views: Option<u64>,
    /// Likes.
    pub likes: Option<u64>,
    /// Comments.
    pub comments: Option<u64>,
    /// Shares.
    pub shares: Option<u64>,
    /// When the figures were read, whole seconds.
    pub measured_at: DateTime<Utc>,
}

impl Engagement {
    /// As stored: a JSON object of the figures given and `measured_at` (RFC 3339).
    pub fn to_json(&self) -> String {
        let mut map = Map::new();
        for (name, value) in self.figures() {
            if let Some(v) = value {
                map.insert(name.to_owned(), json!(v));
            }
        }
        map.insert(
            "measured_at".to_owned(),
            json!(scheduler_core::rfc3339(self.measured_at)),
        );
        Value::Object(map).to_string()
    }

    /// Reads what [`Engagement::to_json`] wrote; `None` for anything else (figures stored
    /// before they had a shape, without `measured_at`).
    pub fn from_json(text: &str) -> Option<Self> {
        let value: Value = serde_json::from_str(text).ok()?;
        let figure = |name: &str| value.get(name).and_then(Value::as_u64);
        Some(Self {
            views: figure("views"),
            likes: figure("likes"),
            comments: figure("comments"),
            shares: figure("shares"),
            measured_at: value.get("measured_at")?.as_str()?.parse().ok()?,
        })
    }

    fn figures(&self) -> [(&'static str, Option<u64>); 4] {
        [
            ("views", self.views),
            ("likes", self.likes),
            ("comments", self.comments),
            ("shares", self.shares),
        ]
    }
}

/// Records a published post's figures: the snapshot measured last is kept (one measured before
/// the stored one changes nothing), and the post's count in the history moves with its views.
/// [`StoreError::NotFound`] for an unknown log, [`StoreError::InvalidState`] unless it is
/// `published`.
pub fn record_engagement(
    conn: &mut Conn,
    log_id: &str,
    engagement: &Engagement,
) -> Result<PublishLog> {
    use crate::schema::publish_logs::dsl as p;
    let engagement = Engagement {
        measured_at: engagement.measured_at.trunc_subsecs(0),
        ..*engagement
    };
    write_transaction(conn, |conn| {
        // Two reports of one post at once: the second reads what the first wrote (PostgreSQL
        // locks the row; SQLite's write transaction holds the database).
        let row = p::publish_logs.find(log_id);
        let found: Option<(PublishLog, Option<i64>)> = match conn {
            Conn::Pg(c) => row
                .select((PublishLog::as_select(), p::counted_views))
                .for_update()
                .get_result(c)
                .optional()?,
            Conn::Sqlite(c) => row
                .select((PublishLog::as_select(), p::counted_views))
                .get_result(c)
                .optional()?,
        };
        let (log, counted) = found.ok_or_else(|| StoreError::not_found("publish log", log_id))?;
        if log.status != Status::Published {
            return Err(not_in(&log, Status::Published));
        }
        let stored = log.engagement.as_deref().and_then(Engagement::from_json);
        if stored.is_some_and(|s| s.measured_at > engagement.measured_at) {
            return Ok(log);
        }
        let update = diesel::update(row).set((
            p::engagement.eq(engagement.to_json()),
            p::counted_views.eq(engagement.views.map(views_column)),
        ));
        let log = on_backend!(conn, |c| update
            .returning(PublishLog::as_returning())
            .get_result(c))?;
        let counted = counted.and_then(|v| u64::try_from(v).ok());
        count_views(conn, &log, counted, engagement.views)?;
        Ok(log)
    })
}

/// Views as the `counted_views` column holds them (a count past `i64::MAX` is no real one).
pub(crate) fn views_column(views: u64) -> i64 {
    i64::try_from(views).unwrap_or(i64::MAX)
}

/// Where a published post counts in the history: the day (UTC) and the hour of the week on its
/// account's clock of its time, `scheduled_for` (the slot it was planned for, which a
/// suggestion proposes; publishing a few seconds late does not move it to the next hour), or
/// `created_at` for a log without one. Neither changes once a post is published, nor does an
/// account's zone, so a post's later snapshots count where its first one did.
fn bucket(log: &PublishLog, zone: Zone) -> (NaiveDate, HourOfWeek) {
    let at = log.scheduled_for.unwrap_or(log.created_at);
    (at.date_naive(), HourOfWeek::of(zone.local(at)))
}

/// Moves a published post's count in the history from the views it counted with (`before`,
/// its `counted_views`) to the views it has (`after`): a post counts once views are known, by
/// [`log_views`]. The caller's transaction sets `counted_views` to `after`, under the row's
/// lock, so the history and the posts never disagree.
pub(crate) fn count_views(
    conn: &mut Conn,
    log: &PublishLog,
    before: Option<u64>,
    after: Option<u64>,
) -> Result<()> {
    if before == after {
        return Ok(());
    }
    let zone = get_account(conn, &log.social_account_id)?.timezone;
    let (day, hour) = bucket(log, zone);
    let posts = i32::from(after.is_some()) - i32::from(before.is_some());
    let sum = after.map_or(0.0, log_views) - before.map_or(0.0, log_views);
    add_to_hours(
        conn,
        (&log.social_account_id, log.platform.as_str()),
        (day, hour),
        (posts, sum),
    )
}

/// Adds `posts` posts and `log_views` to an hour of a day, the account's and its platform's.
fn add_to_hours(
    conn: &mut Conn,
    (account_id, platform): (&str, &str),
    (day, hour): (NaiveDate, HourOfWeek),
    (posts, log_views): (i32, f64),
) -> Result<()> {
    use crate::schema::account_engagement_hours::dsl as a;
    use crate::schema::platform_engagement_hours::dsl as f;
    // 0 to 167.
    let hour = hour.index() as i16;
    let account = diesel::insert_into(a::account_engagement_hours)
        .values((
            a::social_account_id.eq(account_id),
            a::day.eq(day),
            a::hour_of_week.eq(hour),
            a::posts.eq(posts),
            a::log_views.eq(log_views),
        ))
        .on_conflict((a::social_account_id, a::day, a::hour_of_week))
        .do_update()
        .set((
            a::posts.eq(a::posts + excluded(a::posts)),
            a::log_views.eq(a::log_views + excluded(a::log_views)),
        ));
    on_backend!(conn, |c| account.execute(c))?;
    let platform = diesel::insert_into(f::platform_engagement_hours)
        .values((
            f::platform.eq(platform),
            f::day.eq(day),
            f::hour_of_week.eq(hour),
            f::posts.eq(posts),
            f::log_views.eq(log_views),
        ))
        .on_conflict((f::platform, f::day, f::hour_of_week))
        .do_update()
        .set((
            f::posts.eq(f::posts + excluded(f::posts)),
            f::log_views.eq(f::log_views + excluded(f::log_views)),
        ));
    on_backend!(conn, |c| platform.execute(c))?;
    Ok(())
}

/// The history a suggestion for `account` rests on: its own published posts, and its
/// platform's across accounts (its own included), each from the day `since` on.
pub fn engagement_tallies(
    conn: &mut Conn,
    account: &Account,
    since: NaiveDate,
) -> Result<(Tally, Tally)> {
    use crate::schema::account_engagement_hours::dsl as a;
    use crate::schema::platform_engagement_hours::dsl as f;
    type Row = (i16, Option<i64>, Option<f64>);
    let own = a::account_engagement_hours
        .filter(a::social_account_id.eq(&account.id))
        .filter(a::day.ge(since))
        .group_by(a::hour_of_week)
        .select((a::hour_of_week, sum(a::posts), sum(a::log_views)));
    let own: Vec<Row> = on_backend!(conn, |c| own.load(c))?;
    let all = f::platform_engagement_hours
        .filter(f::platform.eq(account.platform.as_str()))
        .filter(f::day.ge(since))
        .group_by(f::hour_of_week)
        .select((f::hour_of_week, sum(f::posts), sum(f::log_views)));
    let all: Vec<Row> = on_backend!(conn, |c| all.load(c))?;
    Ok((tally(own)?, tally(all)?))
}

fn tally(rows: Vec<(i16, Option<i64>, Option<f64>)>) -> Result<Tally> {
    let mut tally = Tally::default();
    for (hour, posts, sum) in rows {
        let h = u8::try_from(hour)
            .ok()
            .and_then(HourOfWeek::from_index)
            .ok_or_else(|| StoreError::Corrupt(format!("an engagement hour of week {hour}")))?;
        let posts = u32::try_from(posts.unwrap_or(0)).map_err(|_| {
            StoreError::Corrupt(format!("engagement hour {hour} counts {posts:?} posts"))
        })?;
        tally.add_counted(h, posts, sum.unwrap_or(0.0));
    }
    Ok(tally)
}

/// Counts again, from the posts, every published post's views in the history (and sets each
/// post's `counted_views`), in the caller's transaction: the migration that creates the
/// history runs it so that the posts published before it count, and an operator may, after
/// writing posts behind the store's back or publishing with servers older than the history.
/// Reads the posts a page at a time.
pub fn recount_engagement(conn: &mut Conn) -> Result<()> {
    use crate::schema::account_engagement_hours::dsl as a;
    use crate::schema::platform_engagement_hours::dsl as f;
    use crate::schema::publish_logs::dsl as p;
    on_backend!(conn, |c| diesel::delete(a::account_engagement_hours)
        .execute(c))?;
    on_backend!(conn, |c| diesel::delete(f::platform_engagement_hours)
        .execute(c))?;
    let uncount = diesel::update(p::publish_logs.filter(p::counted_views.is_not_null()))
        .set(p::counted_views.eq(None::<i64>));
    on_backend!(conn, |c| uncount.execute(c))?;
    const PAGE: i64 = 5_000;
    let mut zones: HashMap<String, Zone> = HashMap::new();
    let mut hours: HashMap<(String, String, NaiveDate, HourOfWeek), (i32, f64)> = HashMap::new();
    let mut after = String::new();
    loop {
        let page = p::publish_logs
            .filter(p::status.eq(Status::Published.as_str()))
            .filter(p::engagement.is_not_null())
            .filter(p::id.gt(&after))
            .order(p::id)
            .limit(PAGE);
        let logs: Vec<PublishLog> =
            on_backend!(conn, |c| page.select(PublishLog::as_select()).load(c))?;
        let Some(last) = logs.last() else { break };
        after = last.id.clone();
        let mut counted: Vec<(String, i64)> = Vec::new();
        for log in &logs {
            let Some(views) = log
                .engagement
                .as_deref()
                .and_then(Engagement::from_json)
                .and_then(|e| e.views)
            else {
                continue;
            };
            let zone = match zones.get(&log.social_account_id) {
                Some(zone) => *zone,
                None => {
                    let zone = get_account(conn, &log.social_account_id)?.timezone;
                    zones.insert(log.social_account_id.clone(), zone);
                    zone
                }
            };
            let (day, hour) = bucket(log, zone);
            let key = (
                log.social_account_id.clone(),
                log.platform.to_string(),
                day,
                hour,
            );
            let sum = hours.entry(key).or_default();
            sum.0 += 1;
            sum.1 += log_views(views);
            counted.push((log.id.clone(), views_column(views)));
        }
        mark_counted(conn, &counted)?;
    }
    for ((account_id, platform, day, hour), counted) in hours {
        add_to_hours(conn, (&account_id, &platform), (day, hour), counted)?;
    }
    Ok(())
}

/// Sets the `counted_views` of each `(log id, views)`: PostgreSQL in one statement, SQLite (no
/// round trip) row by row.
fn mark_counted(conn: &mut Conn, counted: &[(String, i64)]) -> Result<()> {
    use crate::schema::publish_logs::dsl as p;
    match conn {
        Conn::Pg(c) => {
            let (ids, views): (Vec<&str>, Vec<i64>) =
                counted.iter().map(|(id, v)| (id.as_str(), *v)).unzip();
            diesel::sql_query(
                "UPDATE publish_logs SET counted_views = v.views \
                 FROM unnest($1::text[], $2::bigint[]) AS v(id, views) \
                 WHERE publish_logs.id = v.id",
            )
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(ids)
            .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(views)
            .execute(c)?;
        }
        Conn::Sqlite(c) => {
            for (id, views) in counted {
                diesel::update(p::publish_logs.find(id))
                    .set(p::counted_views.eq(views))
                    .execute(c)?;
            }
        }
    }
    Ok(())
}
