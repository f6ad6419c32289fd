//! Group commit ([`GroupWriter`]): jobs queued together share one transaction, each in its
//! savepoint; an answer comes only after its group committed; a failing job takes back only
//! its own writes; a panicking job costs its group, not the writer. And the WAL checkpoints
//! that go with it on SQLite.

use std::sync::mpsc;
use std::time::Duration;

use chrono::Utc;
use scheduler_store::{connect, create_clip, get_clip, Conn, GroupWriter, NewClip, StoreError};

use crate::support::{both_backends, sqlite_with_wal_restart, wal_pages, TestDb};

type Answer = Result<String, StoreError>;

/// Queues a job creating clip `id`, then failing if `fail`; its answer goes to `answers`.
fn create(group: &GroupWriter, answers: &mpsc::Sender<(String, Answer)>, id: &str, fail: bool) {
    let (id, answers) = (id.to_owned(), answers.clone());
    let key = id.clone();
    group
        .submit(
            move |conn: &mut Conn| {
                let clip = create_clip(
                    conn,
                    &NewClip {
                        id: Some(id.clone()),
                        ..NewClip::default()
                    },
                    Utc::now(),
                )?;
                if fail {
                    return Err(StoreError::Rejected(format!("{id} fails after writing")));
                }
                Ok(clip.id)
            },
            move |answer| answers.send((key, answer)).unwrap(),
        )
        .unwrap();
}

/// Queues a job that sleeps inside the group's transaction, and returns once it runs, so that
/// what is submitted next forms the next group.
fn hold_the_writer(group: &GroupWriter, for_: Duration) -> mpsc::Receiver<()> {
    let (started, running) = mpsc::channel();
    let (done, finished) = mpsc::channel();
    group
        .submit(
            move |_: &mut Conn| {
                started.send(()).unwrap();
                std::thread::sleep(for_);
                Ok::<_, StoreError>(())
            },
            move |answer| {
                answer.unwrap();
                done.send(()).unwrap();
            },
        )
        .unwrap();
    running.recv().unwrap();
    finished
}

fn clip_exists(db: &TestDb, id: &str) -> bool {
    match get_clip(&mut db.conn(), id) {
        Ok(_) => true,
        Err(StoreError::NotFound { .. }) => false,
        Err(other) => panic!("{other}"),
    }
}

both_backends! {
    fn a_failing_job_takes_back_only_its_own_writes(db) {
        let group = GroupWriter::start(db.db.clone()).unwrap();
        let (answers, answered) = mpsc::channel();
        let held = hold_the_writer(&group, Duration::from_millis(200));
        for (id, fail) in [("clip_a", false), ("clip_b", true), ("clip_c", false)] {
            create(&group, &answers, id, fail);
        }
        held.recv().unwrap();
        let mut got: Vec<(String, Answer)> = (0..3).map(|_| answered.recv().unwrap()).collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got[0].1.as_deref().unwrap(), "clip_a");
        assert!(
            matches!(&got[1].1, Err(StoreError::Rejected(m)) if m == "clip_b fails after writing"),
            "{:?}",
            got[1].1
        );
        assert_eq!(got[2].1.as_deref().unwrap(), "clip_c");
        assert!(clip_exists(db, "clip_a"));
        assert!(!clip_exists(db, "clip_b"), "the failed job's write was kept");
        assert!(clip_exists(db, "clip_c"));
    }

    fn an_answer_comes_after_its_group_committed(db) {
        let group = GroupWriter::start(db.db.clone()).unwrap();
        let url = db.db.url().clone();
        let (seen, saw) = mpsc::channel();
        let held = hold_the_writer(&group, Duration::from_millis(100));
        for i in 0..20 {
            let (id, url, seen) = (format!("clip_{i}"), url.clone(), seen.clone());
            let key = id.clone();
            group
                .submit(
                    move |conn: &mut Conn| {
                        create_clip(
                            conn,
                            &NewClip {
                                id: Some(id),
                                ..NewClip::default()
                            },
                            Utc::now(),
                        )
                    },
                    // Another connection: it sees only what was committed.
                    move |answer| {
                        answer.unwrap();
                        let mut other = connect(&url, false).unwrap();
                        seen.send(get_clip(&mut other, &key).is_ok()).unwrap();
                    },
                )
                .unwrap();
        }
        held.recv().unwrap();
        let visible: Vec<bool> = (0..20).map(|_| saw.recv().unwrap()).collect();
        assert!(visible.iter().all(|v| *v), "{visible:?}");
    }

    fn a_panicking_job_costs_its_group_not_the_writer(db) {
        let group = GroupWriter::start(db.db.clone()).unwrap();
        let (answers, answered) = mpsc::channel();
        let held = hold_the_writer(&group, Duration::from_millis(200));
        create(&group, &answers, "clip_before", false);
        group
            .submit(
                |_: &mut Conn| -> Result<(), StoreError> { panic!("a bug in a job") },
                |_| unreachable!("a panicking job has no answer"),
            )
            .unwrap();
        held.recv().unwrap();
        // The panic rolled back its group: no answer, and the clip was not kept.
        assert!(answered.recv_timeout(Duration::from_millis(500)).is_err());
        assert!(!clip_exists(db, "clip_before"));
        // The writer goes on.
        create(&group, &answers, "clip_after", false);
        let (id, answer) = answered.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!((id.as_str(), answer.unwrap().as_str()), ("clip_after", "clip_after"));
        assert!(clip_exists(db, "clip_after"));
    }
}

/// Queues a clip, then `breaker`, then another clip, in one group: every one of the three
/// must fail and neither clip be kept (no job may run, or be answered as written, outside the
/// group's transaction); the next group is written as usual.
fn assert_group_fails_under(
    db: &TestDb,
    breaker: impl FnOnce(&mut Conn) -> Result<(), StoreError> + Send + 'static,
) {
    let group = GroupWriter::start(db.db.clone()).unwrap();
    let (answers, answered) = mpsc::channel();
    let held = hold_the_writer(&group, Duration::from_millis(200));
    create(&group, &answers, "clip_before", false);
    let (broke, breaker_answer) = mpsc::channel();
    group
        .submit(breaker, move |answer| broke.send(answer.is_err()).unwrap())
        .unwrap();
    create(&group, &answers, "clip_after", false);
    held.recv().unwrap();
    assert!(
        breaker_answer.recv().unwrap(),
        "the breaking job was answered as written"
    );
    for _ in 0..2 {
        let (id, answer) = answered.recv().unwrap();
        assert!(answer.is_err(), "{id} was answered as written");
    }
    assert!(!clip_exists(db, "clip_before"));
    assert!(
        !clip_exists(db, "clip_after"),
        "a job ran outside the transaction"
    );
    // The writer goes on.
    create(&group, &answers, "clip_next", false);
    let (id, answer) = answered.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(
        (id.as_str(), answer.unwrap().as_str()),
        ("clip_next", "clip_next")
    );
    assert!(clip_exists(db, "clip_next"));
}

both_backends! {
    // What the database does on its own on a full disk or an I/O error: the whole transaction
    // is rolled back under the job.
    fn a_transaction_ended_under_a_job_fails_its_whole_group(db) {
        assert_group_fails_under(db, |conn| {
            diesel::connection::SimpleConnection::batch_execute(conn, "ROLLBACK")?;
            Ok(())
        });
    }

    // What a savepoint whose release failed leaves behind: one level too many.
    fn a_job_that_leaves_a_savepoint_open_fails_its_whole_group(db) {
        assert_group_fails_under(db, |conn| {
            type Manager = <Conn as diesel::Connection>::TransactionManager;
            <Manager as diesel::connection::TransactionManager<Conn>>::begin_transaction(conn)?;
            Ok(())
        });
    }
}

/// SQLite: under a steady stream of writes the WAL is copied into the database file by the
/// background thread and started over by the writer, instead of growing to the safety net.
/// The WAL file keeps its largest size; once it is started over, it stops growing while the
/// writes go on. How soon depends on the disk: under other I/O, the background thread's
/// `fsync` can take seconds, and the WAL grows meanwhile (measured: past 6,000 one-clip
/// commits on a disk busy with `dd … conv=fsync`), so this waits up to a minute.
#[test]
fn sqlite_wal_starts_over_under_steady_writes() {
    let restart = 1_000;
    let (db, path) = sqlite_with_wal_restart(restart);
    let group = GroupWriter::start(db.db.clone()).unwrap();
    let (answers, answered) = mpsc::channel();
    // Each clip is its own group (its answer is waited for): a commit of a few WAL frames.
    let mut commit = |i: usize| {
        create(&group, &answers, &format!("clip_{i}"), false);
        answered.recv().unwrap().1.unwrap();
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    // 400 commits write about 850 pages: a WAL started over (past `restart` pages) holds them
    // without growing, one that never is grows by as much every round.
    let round = 400;
    let mut last = 0;
    for i in (0..).step_by(round) {
        (i..i + round).for_each(&mut commit);
        let pages = wal_pages(&path);
        if i > 0 && pages == last {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the WAL grew to {pages} pages in {i} commits: it never started over"
        );
        last = pages;
    }
}
