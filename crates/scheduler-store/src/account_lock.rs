//! Serializing the writers of one account: two requests cannot both take the same free slot.
//! PostgreSQL takes a transaction-scoped advisory lock per account; SQLite's write transaction
//! already holds the whole database.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Text};
use scheduler_core::{Platform, Zone};

use crate::conn::{on_backend, Conn};
use crate::error::{Result, StoreError};
use crate::models::Account;

/// The first key of the two-key advisory locks that serialize scheduling per account.
const ACCOUNT_LOCK_CLASS: i32 = 1;

/// Serializes scheduling per account until the end of the current transaction. PostgreSQL:
/// one transaction-scoped advisory lock per account (keyed by the server's `hashtext`; a
/// collision only over-serializes), taken in key order so that two batches cannot deadlock.
/// One account (every single schedule) takes a statement diesel keeps prepared; several take
/// one statement over the list, parsed each time. SQLite: nothing to do, the `BEGIN IMMEDIATE`
/// of [`crate::write_transaction`] holds the database.
pub(crate) fn lock_accounts(conn: &mut Conn, account_ids: &[&str]) -> QueryResult<()> {
    let Conn::Pg(c) = conn else {
        return Ok(());
    };
    let mut distinct = account_ids.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    match distinct[..] {
        [] => {}
        [account] => {
            diesel::select(pg::advisory_xact_lock(
                ACCOUNT_LOCK_CLASS,
                pg::hashtext(account),
            ))
            .execute(c)?;
        }
        _ => {
            diesel::sql_query(
                "SELECT pg_advisory_xact_lock($1, k) \
                 FROM (SELECT DISTINCT hashtext(a) AS k FROM unnest($2) AS a ORDER BY k) AS keys",
            )
            .bind::<Integer, _>(ACCOUNT_LOCK_CLASS)
            .bind::<Array<Text>, _>(&distinct)
            .execute(c)?;
        }
    }
    Ok(())
}

/// The account `id`, if it exists, and whether the clip `clip_id` exists, in one statement.
/// With `lock`, on PostgreSQL, the same statement takes the account's lock (see
/// [`lock_accounts`]), which saves a schedule a round trip. The lock is taken
/// only when the account exists; without it nothing is written. The row read with it cannot be
/// stale: accounts never change.
pub(crate) fn account_with_clip(
    conn: &mut Conn,
    id: &str,
    clip_id: &str,
    lock: bool,
) -> QueryResult<Option<(Account, bool)>> {
    use crate::schema::{clips, social_accounts as a};
    let account = a::table.find(id);
    let clip_exists = diesel::dsl::exists(clips::table.find(clip_id));
    if let (Conn::Pg(c), true) = (&mut *conn, lock) {
        let locked = pg::advisory_xact_lock(ACCOUNT_LOCK_CLASS, pg::hashtext(a::id));
        let found: Option<(Account, bool, bool)> = account
            .select((Account::as_select(), clip_exists, locked.is_not_null()))
            .get_result(c)
            .optional()?;
        return Ok(found.map(|(account, clip, _)| (account, clip)));
    }
    // Built in each arm: a `SelectBy` is typed by its backend.
    on_backend!(conn, |c| account
        .select((Account::as_select(), clip_exists))
        .get_result(c)
        .optional())
}

/// An account, whether a clip exists, and the account's post times, sorted.
pub(crate) type AccountClipPosts = (Account, bool, Vec<DateTime<Utc>>);

/// Whether [`account_with_clip_and_posts`] takes the account's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PostsRead {
    /// Take the lock, then read the posts after it (the migrations' `schedule_context`): the
    /// posts include every post of a writer that held the lock before.
    Locked,
    /// No lock; the account, the clip and the posts as of one snapshot (`schedule_peek`), for
    /// a schedule that writes only if the posts still stand (`schedule_commit`).
    Peek,
}

/// PostgreSQL, in one round trip: [`account_with_clip`], then the account's active posts on its
/// platform within `span` (inclusive), sorted; with [`PostsRead::Locked`] the lock is taken
/// first. `None` when the account does not exist (no lock).
pub(crate) fn account_with_clip_and_posts(
    c: &mut diesel::PgConnection,
    id: &str,
    clip_id: &str,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
    read: PostsRead,
) -> Result<Option<AccountClipPosts>> {
    type Found = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<NaiveDateTime>,
        Option<String>,
        Option<bool>,
        Option<Vec<NaiveDateTime>>,
    );
    let (from, until) = (from.naive_utc(), until.naive_utc());
    let (id, platform, handle, timezone, created_at, calendar_key, clip, times): Found = match read
    {
        PostsRead::Locked => {
            diesel::select(pg::schedule_context(id, clip_id, from, until)).get_result(c)?
        }
        PostsRead::Peek => {
            diesel::select(pg::schedule_peek(id, clip_id, from, until)).get_result(c)?
        }
    };
    let (Some(id), Some(platform), Some(timezone), Some(created_at)) =
        (id, platform, timezone, created_at)
    else {
        return Ok(None);
    };
    let found = Context {
        id,
        platform,
        handle,
        timezone,
        created_at,
        calendar_key,
        clip_exists: clip.unwrap_or(false),
        post_times: times.unwrap_or_default(),
    };
    let corrupt = |what: String| StoreError::Corrupt(format!("account {}: {what}", found.id));
    let account = Account {
        platform: Platform::try_from(found.platform.clone()).map_err(|e| corrupt(e.to_string()))?,
        timezone: Zone::try_from(found.timezone.clone()).map_err(|e| corrupt(e.to_string()))?,
        created_at: found.created_at.and_utc(),
        handle: found.handle,
        calendar_key: found.calendar_key,
        id: found.id,
    };
    let mut times: Vec<DateTime<Utc>> = found.post_times.iter().map(|t| t.and_utc()).collect();
    times.sort_unstable();
    Ok(Some((account, found.clip_exists, times)))
}

/// What `schedule_context` found of an account.
struct Context {
    id: String,
    platform: String,
    handle: Option<String>,
    timezone: String,
    created_at: NaiveDateTime,
    calendar_key: Option<String>,
    clip_exists: bool,
    post_times: Vec<NaiveDateTime>,
}

/// PostgreSQL functions, declared for diesel's query builder: a statement built from them keeps
/// one prepared statement, where `sql_query` and SQL literals are parsed again every time.
pub(crate) mod pg {
    use diesel::sql_types::{Array, Bool, Integer, Nullable, SmallInt, Text, Timestamp};

    /// The `void` that `pg_advisory_xact_lock` returns; never read.
    #[derive(Debug, diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "void"))]
    pub struct Void;

    diesel::define_sql_function! {
        #[sql_name = "pg_advisory_xact_lock"]
        fn advisory_xact_lock(class: Integer, key: Integer) -> Void;
    }
    diesel::define_sql_function! {
        fn hashtext(text: Text) -> Integer;
    }
    /// What `schedule_context` and `schedule_peek` answer: the account's columns (all null
    /// without it), whether the clip exists, and the posts.
    pub type Context = diesel::pg::sql_types::Record<(
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Timestamp>,
        Nullable<Text>,
        Nullable<Bool>,
        Nullable<Array<Timestamp>>,
    )>;

    diesel::define_sql_function! {
        /// The migrations' `schedule_context`: the account's columns (all null without it),
        /// whether the clip exists, and the posts in the span.
        fn schedule_context(
            account: Text,
            clip: Text,
            from: Timestamp,
            until: Timestamp
        ) -> Context;
    }
    diesel::define_sql_function! {
        /// The migrations' `schedule_peek`: `schedule_context` without the lock, as of one
        /// snapshot, the posts sorted.
        fn schedule_peek(
            account: Text,
            clip: Text,
            from: Timestamp,
            until: Timestamp
        ) -> Context;
    }
    diesel::define_sql_function! {
        /// The migrations' `schedule_commit`: under the account's lock, `schedule_insert` if the
        /// account's posts in `from..=until` are `planned_among` (then null), else those posts.
        #[allow(clippy::too_many_arguments)]
        fn schedule_commit(
            from: Timestamp,
            until: Timestamp,
            planned_among: Array<Timestamp>,
            id: Text,
            clip: Text,
            platform: Text,
            account: Text,
            scheduled_for: Timestamp,
            window_end: Timestamp,
            scheduled_by: Text,
            requested_for: Timestamp,
            reason: Text,
            now: Timestamp,
            priority: SmallInt,
            window_end_given: Bool,
            event_ids: Array<Text>,
            event_types: Array<Text>,
            entity_types: Array<Text>,
            entity_ids: Array<Text>,
            metadata: Array<Text>,
            created_at: Array<Timestamp>
        ) -> Nullable<Array<Timestamp>>;
    }
    diesel::define_sql_function! {
        /// The migrations' `schedule_insert`: a scheduled log and its events.
        #[allow(clippy::too_many_arguments)]
        fn schedule_insert(
            id: Text,
            clip: Text,
            platform: Text,
            account: Text,
            scheduled_for: Timestamp,
            window_end: Timestamp,
            scheduled_by: Text,
            requested_for: Timestamp,
            reason: Text,
            now: Timestamp,
            priority: SmallInt,
            window_end_given: Bool,
            event_ids: Array<Text>,
            event_types: Array<Text>,
            entity_types: Array<Text>,
            entity_ids: Array<Text>,
            metadata: Array<Text>,
            created_at: Array<Timestamp>
        ) -> Void;
    }
}
