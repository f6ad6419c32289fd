//! The paged lists: logs by time with filters, and the ledger's feed under concurrent writers.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use scheduler_core::{Platform, RuleSet};
use scheduler_store::cursor::FeedCursor;
use scheduler_store::models::LedgerEvent;
use scheduler_store::{
    cancel, create_account, feed, list_logs, schedule, write_transaction, LogFilter, NewAccount,
    Status, StoreError,
};
use scheduler_testkit::TestDb;

use crate::support::{account_and_clip, at, both_backends, now, request};

/// Every event in the table, by `seq`.
fn all_events(conn: &mut scheduler_store::Conn) -> Vec<LedgerEvent> {
    use diesel::prelude::*;
    use scheduler_store::schema::ledger_events::dsl as l;
    l::ledger_events
        .order(l::seq.asc())
        .select(LedgerEvent::as_select())
        .load(conn)
        .unwrap()
}

/// Follows the feed from `cursor` until a page comes back empty; every event read.
fn read_feed(
    conn: &mut scheduler_store::Conn,
    cursor: &mut FeedCursor,
    limit: u32,
) -> Vec<LedgerEvent> {
    let mut read = Vec::new();
    loop {
        let page = feed(conn, *cursor, limit).unwrap();
        if page.events.is_empty() {
            assert_eq!(page.next, *cursor);
            return read;
        }
        assert!(page.events.len() <= limit as usize);
        *cursor = page.next;
        read.extend(page.events);
    }
}

/// Follows the feed from `cursor` until `count` events are read, or 30 seconds pass. On
/// PostgreSQL the feed waits for every older transaction of the server to end, other tests'
/// included, so an empty page does not mean the end.
fn read_feed_until(
    conn: &mut scheduler_store::Conn,
    cursor: &mut FeedCursor,
    count: usize,
) -> Vec<LedgerEvent> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut read = Vec::new();
    while read.len() < count && std::time::Instant::now() < deadline {
        read.extend(read_feed(conn, cursor, 7));
        std::thread::sleep(Duration::from_millis(5));
    }
    read
}

both_backends! {
    fn logs_are_listed_by_time_then_id_with_filters_a_page_at_a_time(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let (insta, clip) = account_and_clip(conn, "UTC");
        let tiktok = create_account(conn, &rules, &NewAccount { platform: "tiktok".into(), ..NewAccount::default() }, now()).unwrap();
        let mut made = Vec::new();
        for (account, time) in [(&insta, "2030-01-15T19:00:00Z"), (&tiktok, "2030-01-15T19:00:00Z"),
                                (&insta, "2030-01-15T21:00:00Z"), (&tiktok, "2030-01-16T20:00:00Z"),
                                (&insta, "2030-01-16T18:00:00Z")] {
            made.push(schedule(conn, &rules, &request(account, &clip, Some(time)), now()).unwrap().log);
        }
        cancel(conn, &made[2].id, now()).unwrap();
        let mut by_time: Vec<(String, String)> = made.iter()
            .map(|l| (scheduler_core::rfc3339(l.scheduled_for.unwrap()), l.id.clone())).collect();
        by_time.sort();
        let ids = |logs: &[scheduler_store::PublishLog]| logs.iter().map(|l| l.id.clone()).collect::<Vec<_>>();

        // Pages of two: every log once, in order, and no cursor after the last page.
        let mut filter = LogFilter { limit: 2, ..LogFilter::default() };
        let mut seen = Vec::new();
        loop {
            let page = list_logs(conn, &filter).unwrap();
            seen.extend(ids(&page.logs));
            match page.next {
                Some(next) => filter.after = Some(next.to_string().parse().unwrap()),
                None => break,
            }
        }
        assert_eq!(seen, by_time.iter().map(|(_, id)| id.clone()).collect::<Vec<_>>());
        // A page that ends exactly at the last log says so.
        let all = list_logs(conn, &LogFilter { limit: 5, ..LogFilter::default() }).unwrap();
        assert_eq!((all.logs.len(), all.next), (5, None));

        let check = |filter: LogFilter, expected: Vec<&str>| {
            let got = list_logs(&mut db.conn(), &filter).unwrap();
            let want: Vec<String> = made.iter()
                .filter(|l| expected.contains(&l.id.as_str()))
                .map(|l| l.id.clone()).collect::<HashSet<_>>().into_iter().collect();
            assert_eq!(ids(&got.logs).into_iter().collect::<HashSet<_>>(), want.into_iter().collect::<HashSet<_>>(), "{filter:?}");
        };
        check(LogFilter { social_account_id: Some(tiktok.id.clone()), ..LogFilter::default() },
              vec![&made[1].id, &made[3].id]);
        check(LogFilter { platform: Some(Platform::parse("instagram").unwrap()), ..LogFilter::default() },
              vec![&made[0].id, &made[2].id, &made[4].id]);
        check(LogFilter { status: Some(Status::Cancelled), ..LogFilter::default() }, vec![&made[2].id]);
        // `from` is inclusive, `to` exclusive.
        check(LogFilter { from: Some(at("2030-01-15T21:00:00Z")), to: Some(at("2030-01-16T20:00:00Z")), ..LogFilter::default() },
              vec![&made[2].id, &made[4].id]);
        check(LogFilter { social_account_id: Some("nobody".into()), ..LogFilter::default() }, vec![]);
        // Two logs at the same second: the id decides, and a cursor between them holds.
        let same: Vec<&(String, String)> = by_time.iter().filter(|(t, _)| t == "2030-01-15T19:00:00Z").collect();
        let first = list_logs(conn, &LogFilter { limit: 1, ..LogFilter::default() }).unwrap();
        assert_eq!(first.logs[0].id, same[0].1);
        let second = list_logs(conn, &LogFilter { limit: 1, after: first.next, ..LogFilter::default() }).unwrap();
        assert_eq!(second.logs[0].id, same[1].1);
    }

    fn the_feed_gives_every_event_once_in_order_while_writers_commit(db) {
        let rules = RuleSet::default();
        let writers = 4;
        let per_writer = 25;
        let done = AtomicBool::new(false);
        let read = std::thread::scope(|s| {
            // The reader follows the feed while the writers write.
            let reader = s.spawn(|| {
                let conn = &mut db.conn();
                let mut cursor = FeedCursor::START;
                let mut read = Vec::new();
                while !done.load(Ordering::SeqCst) {
                    read.extend(read_feed(conn, &mut cursor, 7));
                    std::thread::sleep(Duration::from_millis(1));
                }
                // The writers are done: everything they wrote arrives.
                let written = all_events(conn).len();
                let rest = read_feed_until(conn, &mut cursor, written - read.len());
                read.extend(rest);
                // And nothing more.
                read.extend(read_feed(conn, &mut cursor, 7));
                read
            });
            let handles: Vec<_> = (0..writers).map(|w| {
                let rules = &rules;
                s.spawn(move || {
                    let conn = &mut db.conn();
                    let (account, clip) = account_and_clip(conn, "UTC");
                    for i in 0..per_writer {
                        // Every third transaction commits late: after its events took their
                        // `seq`, other writers take later ones and commit first.
                        write_transaction(conn, |c| {
                            schedule(c, rules, &request(&account, &clip, None), now())?;
                            if (i + w) % 3 == 0 {
                                std::thread::sleep(Duration::from_millis(15));
                            }
                            Ok::<_, StoreError>(())
                        })
                        .unwrap();
                    }
                })
            }).collect();
            for handle in handles {
                handle.join().unwrap();
            }
            done.store(true, Ordering::SeqCst);
            reader.join().unwrap()
        });

        let all = all_events(&mut db.conn());
        assert!(all.len() >= writers * per_writer, "at least one event per post");
        let read_ids: Vec<&str> = read.iter().map(|e| e.id.as_str()).collect();
        let unique: HashSet<&str> = read_ids.iter().copied().collect();
        assert_eq!(unique.len(), read_ids.len(), "an event was read twice");
        let missing: Vec<&str> = all.iter().map(|e| e.id.as_str()).filter(|id| !unique.contains(id)).collect();
        assert!(missing.is_empty(), "the reader never saw {} events: {missing:?}", missing.len());
        assert!(read.windows(2).all(|w| (w[0].txid, w[0].seq) < (w[1].txid, w[1].seq)), "out of order");
    }
}

/// The trap itself, step by step: a transaction takes `seq` values, another takes later ones and
/// commits first. A reader going by `seq` would move past the first one's events before they
/// are visible and never see them; the feed holds the later ones back until the first commits.
/// (PostgreSQL only: SQLite runs one writer at a time, so `seq` is commit order there.)
#[test]
fn postgres_an_event_that_commits_late_is_read_late_not_skipped() {
    let Some(db) = TestDb::postgres() else {
        return;
    };
    let rules = RuleSet::default();
    let (early_seqs, go) = (mpsc::channel::<Vec<i64>>(), mpsc::channel::<()>());
    let early = {
        let db_url_conn = db.conn();
        let (seqs_out, go_in) = (early_seqs.0, go.1);
        std::thread::spawn(move || {
            let mut conn = db_url_conn;
            let conn = &mut conn;
            let (account, clip) = account_and_clip(conn, "UTC");
            write_transaction(conn, |c| {
                let log = schedule(
                    c,
                    &RuleSet::default(),
                    &request(&account, &clip, None),
                    now(),
                )?
                .log;
                let seqs = all_events(c)
                    .into_iter()
                    .filter(|e| e.entity_id == log.id)
                    .map(|e| e.seq)
                    .collect();
                seqs_out.send(seqs).unwrap();
                go_in.recv().unwrap();
                Ok::<_, StoreError>(())
            })
            .unwrap();
        })
    };
    let early_seqs = early_seqs.1.recv().unwrap();
    let conn = &mut db.conn();
    let (account, clip) = account_and_clip(conn, "UTC");
    let late = schedule(conn, &rules, &request(&account, &clip, None), now())
        .unwrap()
        .log;
    let visible = all_events(conn);
    assert!(
        visible.iter().all(|e| e.entity_id == late.id),
        "only the committed transaction's events are visible"
    );
    assert!(
        visible
            .iter()
            .all(|e| early_seqs.iter().all(|s| e.seq > *s)),
        "the committed events' seq is after the uncommitted ones': a reader by seq would pass them"
    );

    // While the early transaction runs, the feed holds the later one back.
    let page = feed(conn, FeedCursor::START, 100).unwrap();
    assert!(page.events.is_empty(), "{:?}", page.events);
    assert_eq!(page.next, FeedCursor::START);

    go.0.send(()).unwrap();
    early.join().unwrap();
    let mut cursor = FeedCursor::START;
    let mut read = read_feed_until(conn, &mut cursor, early_seqs.len() + visible.len());
    read.extend(read_feed(conn, &mut cursor, 100));
    let seqs: Vec<i64> = read.iter().map(|e| e.seq).collect();
    let late_seqs: Vec<i64> = visible.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        [early_seqs, late_seqs].concat(),
        "every event once, the early transaction's first"
    );
}
