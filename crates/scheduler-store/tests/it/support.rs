//! What the store's tests share: fixed times, an account and a clip, a request, row counts.
//! Each test gets a fresh database from `scheduler_testkit::TestDb` (`both_backends!`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use scheduler_core::RuleSet;
use scheduler_store::{
    create_account, create_clip, Account, Clip, Conn, NewAccount, NewClip, NewSchedule, ScheduledBy,
};

pub(crate) use scheduler_testkit::both_backends;

/// The size of the WAL file beside the SQLite database at `path`, in 4 KiB pages.
pub fn wal_pages(path: &str) -> u64 {
    std::fs::metadata(format!("{path}-wal")).unwrap().len() / 4_096
}

/// An instant from RFC 3339 text.
pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// A fixed "now" for scheduling tests: the day before [`at`]'s usual dates.
pub fn now() -> DateTime<Utc> {
    at("2030-01-14T10:00:00Z")
}

/// An Instagram account in `zone` and a clip.
pub fn account_and_clip(conn: &mut Conn, zone: &str) -> (Account, Clip) {
    let account = create_account(
        conn,
        &RuleSet::default(),
        &NewAccount {
            platform: "instagram".into(),
            timezone: Some(zone.into()),
            ..NewAccount::default()
        },
        now(),
    )
    .unwrap();
    let clip = create_clip(conn, &NewClip::default(), now()).unwrap();
    (account, clip)
}

/// A request for `clip` on `account` at `time`.
pub fn request(account: &Account, clip: &Clip, time: Option<&str>) -> NewSchedule {
    NewSchedule {
        clip_id: clip.id.clone(),
        platform: account.platform.to_string(),
        social_account_id: account.id.clone(),
        scheduled_for: time.map(at),
        scheduled_window_end: None,
        scheduled_by: ScheduledBy::Manual,
        priority: scheduler_core::Priority::Normal,
        strategy: scheduler_store::Strategy::Earliest,
    }
}

/// Row counts of (publish_logs, ledger_events).
pub fn counts(conn: &mut Conn) -> (i64, i64) {
    use scheduler_store::schema::{ledger_events, publish_logs};
    (
        publish_logs::table.count().get_result(conn).unwrap(),
        ledger_events::table.count().get_result(conn).unwrap(),
    )
}
