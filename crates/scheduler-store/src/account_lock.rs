//! Serializing the writers of one account: two requests cannot both take the same free slot.
//! PostgreSQL takes a transaction-scoped advisory lock per account; SQLite's write transaction
//! already holds the whole database.

use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Text};

use crate::conn::{on_backend, Conn};
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

/// PostgreSQL functions, declared for diesel's query builder: a statement built from them keeps
/// one prepared statement, where `sql_query` and SQL literals are parsed again every time.
mod pg {
    use diesel::sql_types::{Integer, Text};

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
}
