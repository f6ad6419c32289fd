//! Social accounts and clips.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use scheduler_core::{RuleSet, Zone};

use crate::conn::{on_backend, write_transaction, Conn};
use crate::error::{Refusal, RefusalKind, Result, StoreError};
use crate::models::{Account, Clip};
use crate::new_id;
use crate::schema::{clips, social_accounts};

/// The longest id a client may choose.
pub const MAX_ID_LEN: usize = 128;

/// A social account to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewAccount {
    /// The client's id, or `None` for a new `acc_…` id.
    pub id: Option<String>,
    /// The platform name; it must have rules.
    pub platform: String,
    /// The handle.
    pub handle: Option<String>,
    /// An IANA time zone name; `None` is UTC.
    pub timezone: Option<String>,
}

/// A clip to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewClip {
    /// The client's id, or `None` for a new `clip_…` id.
    pub id: Option<String>,
    /// The title.
    pub title: Option<String>,
    /// Where the media is.
    pub media_url: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = social_accounts)]
struct AccountRow<'a> {
    id: &'a str,
    platform: &'a str,
    handle: Option<&'a str>,
    timezone: &'a str,
    created_at: NaiveDateTime,
    calendar_key: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = clips)]
struct ClipRow<'a> {
    id: &'a str,
    title: Option<&'a str>,
    media_url: Option<&'a str>,
    created_at: NaiveDateTime,
}

/// A new calendar key: `cal_` and 244 random bits (two version-4 UUIDs) in hex, as the
/// migration gives the accounts made before keys existed.
fn new_calendar_key() -> String {
    format!(
        "cal_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Gives every account without a calendar key one (accounts made before keys existed, or
/// written by another program); how many it gave. Run at start-up by the program that
/// migrates.
pub fn fill_calendar_keys(conn: &mut Conn) -> Result<usize> {
    let mut filled = 0;
    loop {
        let keyless: Vec<String> = social_accounts::table
            .filter(social_accounts::calendar_key.is_null())
            .select(social_accounts::id)
            .limit(500)
            .load(conn)?;
        if keyless.is_empty() {
            return Ok(filled);
        }
        write_transaction(conn, |conn| {
            for id in &keyless {
                let update = diesel::update(
                    social_accounts::table
                        .find(id)
                        .filter(social_accounts::calendar_key.is_null()),
                )
                .set(social_accounts::calendar_key.eq(new_calendar_key()));
                on_backend!(conn, |c| update.execute(c))?;
            }
            Ok::<_, StoreError>(())
        })?;
        filled += keyless.len();
    }
}

/// Gives the account a new calendar key, so that the old one opens nothing from now on; the
/// account with it, or [`StoreError::NotFound`].
pub fn rotate_calendar_key(conn: &mut Conn, id: &str) -> Result<Account> {
    write_transaction(conn, |conn| {
        let update = diesel::update(social_accounts::table.find(id))
            .set(social_accounts::calendar_key.eq(new_calendar_key()));
        if on_backend!(conn, |c| update.execute(c))? == 0 {
            return Err(StoreError::not_found("account", id));
        }
        get_account(conn, id)
    })
}

/// Whether `id` is an acceptable id for a client to choose (and so for any row to have): 1 to
/// [`MAX_ID_LEN`] characters, none of them whitespace or control characters, so that ids fit in
/// a URL path and a log line (and PostgreSQL, which refuses a NUL, never sees one); and not `.`
/// or `..`, which URL resolution removes from a path (RFC 3986, section 5.2.4), so that no
/// client could read the row back.
pub fn is_valid_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.chars().count())
        && !id.chars().any(|c| c.is_whitespace() || c.is_control())
        && !matches!(id, "." | "..")
}

/// The client's id if it is acceptable, else a new one with `prefix`.
fn chosen_id(id: Option<&str>, prefix: &str) -> Result<String> {
    match id {
        None => Ok(new_id(prefix)),
        Some(id) if is_valid_id(id) => Ok(id.to_owned()),
        Some(_) => Err(Refusal::new(
            RefusalKind::InvalidField,
            format!(
                "id must be 1 to {MAX_ID_LEN} characters without whitespace or control characters, and not . or .."
            ),
        )
        .into()),
    }
}

/// Creates an account. Rejected when the platform has no rules or the zone is unknown;
/// [`StoreError::Conflict`] when the id is taken.
pub fn create_account(
    conn: &mut Conn,
    rules: &RuleSet,
    new: &NewAccount,
    now: DateTime<Utc>,
) -> Result<Account> {
    let platform = rules.known_platform(&new.platform)?;
    let timezone = match &new.timezone {
        Some(name) => {
            Zone::parse(name).map_err(|e| Refusal::new(RefusalKind::InvalidField, e.to_string()))?
        }
        None => Zone::UTC,
    };
    let id = chosen_id(new.id.as_deref(), "acc")?;
    if id.contains(',') {
        // Lists of accounts (the calendar's filter) are ids separated by commas.
        return Err(Refusal::new(
            RefusalKind::InvalidField,
            "an account id must not contain a comma",
        )
        .into());
    }
    let calendar_key = new_calendar_key();
    let row = AccountRow {
        id: &id,
        platform: platform.as_str(),
        handle: new.handle.as_deref(),
        timezone: timezone.name(),
        created_at: now.trunc_subsecs(0).naive_utc(),
        calendar_key: &calendar_key,
    };
    write_transaction(conn, |conn| {
        diesel::insert_into(social_accounts::table)
            .values(&row)
            .execute(conn)
            .map_err(StoreError::on_duplicate(|| {
                format!("account id already taken: {id}")
            }))?;
        get_account(conn, &id)
    })
}

/// One account, or [`StoreError::NotFound`].
pub fn get_account(conn: &mut Conn, id: &str) -> Result<Account> {
    let query = social_accounts::table.find(id);
    on_backend!(conn, |c| query
        .select(Account::as_select())
        .get_result(c)
        .optional())?
    .ok_or_else(|| StoreError::not_found("account", id))
}

/// The most accounts [`list_accounts`] answers at once.
pub const MAX_ACCOUNTS_PAGE: u32 = 500;

/// Accounts by id, after `after` (a page's last id), at most `limit` (1 to
/// [`MAX_ACCOUNTS_PAGE`]), and the id to go on after when there are more.
pub fn list_accounts(
    conn: &mut Conn,
    after: Option<&str>,
    limit: u32,
) -> Result<(Vec<Account>, Option<String>)> {
    let limit = limit.clamp(1, MAX_ACCOUNTS_PAGE);
    // Every id is at least one character, so after "" is from the first.
    let query = social_accounts::table
        .filter(social_accounts::id.gt(after.unwrap_or("").to_owned()))
        .order(social_accounts::id.asc())
        .limit(i64::from(limit) + 1);
    let mut accounts: Vec<Account> =
        on_backend!(conn, |c| query.select(Account::as_select()).load(c))?;
    let next = if accounts.len() > limit as usize {
        accounts.truncate(limit as usize);
        accounts.last().map(|a| a.id.clone())
    } else {
        None
    };
    Ok((accounts, next))
}

/// Creates a clip; [`StoreError::Conflict`] when the id is taken.
pub fn create_clip(conn: &mut Conn, new: &NewClip, now: DateTime<Utc>) -> Result<Clip> {
    let id = chosen_id(new.id.as_deref(), "clip")?;
    let row = ClipRow {
        id: &id,
        title: new.title.as_deref(),
        media_url: new.media_url.as_deref(),
        created_at: now.trunc_subsecs(0).naive_utc(),
    };
    write_transaction(conn, |conn| {
        diesel::insert_into(clips::table)
            .values(&row)
            .execute(conn)
            .map_err(StoreError::on_duplicate(|| {
                format!("clip id already taken: {id}")
            }))?;
        get_clip(conn, &id)
    })
}

/// One clip, or [`StoreError::NotFound`].
pub fn get_clip(conn: &mut Conn, id: &str) -> Result<Clip> {
    clips::table
        .find(id)
        .select(Clip::as_select())
        .get_result(conn)
        .optional()?
        .ok_or_else(|| StoreError::not_found("clip", id))
}

/// `Ok` if the clip exists, else the error `missing` makes.
pub(crate) fn clip_exists_or(
    conn: &mut Conn,
    id: &str,
    missing: impl FnOnce() -> StoreError,
) -> Result<()> {
    let query = clips::table.find(id).select(clips::id);
    let found = on_backend!(conn, |c| query.get_result::<String>(c).optional())?;
    found.map(drop).ok_or_else(missing)
}
