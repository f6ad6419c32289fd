//! Group commit on SQLite, through [`Db::write`]: writes waiting at the same moment share one
//! transaction, each in its savepoint; an answer comes only after its group committed; a
//! failing write takes back only its own rows; a panicking one costs its group, not the
//! writer. And the WAL checkpoints that go with it.

use std::time::Duration;

use chrono::Utc;
use diesel::connection::{SimpleConnection, TransactionManager};
use scheduler_store::{
    connect, create_clip, get_clip, Conn, Db, Mode, NewClip, OpenOptions, StoreError,
};
use scheduler_testkit::TestDb;
use tokio::task::JoinHandle;

use crate::support::wal_pages;

type Answer = Result<String, StoreError>;

/// Starts a write creating clip `id`, then failing if `fail`.
fn create(db: &Db, id: &str, fail: bool) -> JoinHandle<Answer> {
    let (db, id) = (db.clone(), id.to_owned());
    tokio::spawn(async move {
        db.write(move |conn| {
            let new = NewClip {
                id: Some(id.clone()),
                ..NewClip::default()
            };
            let clip = create_clip(conn, &new, Utc::now())?;
            if fail {
                return Err(scheduler_store::Refusal::new(
                    scheduler_store::RefusalKind::InvalidField,
                    format!("{id} fails after writing"),
                )
                .into());
            }
            Ok(clip.id)
        })
        .await
    })
}

/// Starts a write that sleeps inside its group's transaction, and returns once it runs, so
/// that the writes started next form the next group.
async fn hold_the_writer(db: &Db, for_: Duration) -> JoinHandle<()> {
    let (started, running) = tokio::sync::oneshot::channel();
    let db = db.clone();
    let held = tokio::spawn(async move {
        db.write(move |_| {
            let _ = started.send(());
            std::thread::sleep(for_);
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    });
    running.await.unwrap();
    held
}

/// Lets the writes just started reach the writer's queue.
async fn queued() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

fn clip_exists(db: &TestDb, id: &str) -> bool {
    match get_clip(&mut db.conn(), id) {
        Ok(_) => true,
        Err(StoreError::NotFound { .. }) => false,
        Err(other) => panic!("{other}"),
    }
}

#[tokio::test]
async fn a_failing_write_takes_back_only_its_own_rows() {
    let test = TestDb::sqlite();
    let db = test.db();
    let held = hold_the_writer(db, Duration::from_millis(200)).await;
    let writes: Vec<_> = [("clip_a", false), ("clip_b", true), ("clip_c", false)]
        .into_iter()
        .map(|(id, fail)| create(db, id, fail))
        .collect();
    held.await.unwrap();
    let mut answers = Vec::new();
    for write in writes {
        answers.push(write.await.unwrap());
    }
    assert_eq!(answers[0].as_deref().unwrap(), "clip_a");
    assert!(
        matches!(&answers[1], Err(StoreError::Rejected(r)) if r.reason == "clip_b fails after writing"),
        "{:?}",
        answers[1]
    );
    assert_eq!(answers[2].as_deref().unwrap(), "clip_c");
    assert!(clip_exists(&test, "clip_a"));
    assert!(!clip_exists(&test, "clip_b"), "the failed write was kept");
    assert!(clip_exists(&test, "clip_c"));
}

#[tokio::test]
async fn an_answer_comes_after_its_group_committed() {
    let test = TestDb::sqlite();
    let db = test.db();
    let url = db.url().clone();
    let held = hold_the_writer(db, Duration::from_millis(100)).await;
    let writes: Vec<_> = (0..20)
        .map(|i| (format!("clip_{i}"), create(db, &format!("clip_{i}"), false)))
        .collect();
    held.await.unwrap();
    for (id, write) in writes {
        write.await.unwrap().unwrap();
        // Another connection sees only what was committed.
        let mut other = connect(&url, false).unwrap();
        assert!(
            get_clip(&mut other, &id).is_ok(),
            "{id} answered before its commit"
        );
    }
}

#[tokio::test]
async fn a_panicking_write_costs_its_group_not_the_writer() {
    let test = TestDb::sqlite();
    let db = test.db();
    let held = hold_the_writer(db, Duration::from_millis(200)).await;
    let before = create(db, "clip_before", false);
    let panicking = {
        let db = db.clone();
        tokio::spawn(async move {
            db.write(|_| -> Result<(), StoreError> { panic!("a bug in a write") })
                .await
        })
    };
    queued().await;
    held.await.unwrap();
    // The panic rolled back its group: the writes of it fail, and the clip was not kept.
    assert!(matches!(
        panicking.await.unwrap(),
        Err(StoreError::Internal(_))
    ));
    assert!(before.await.unwrap().is_err());
    assert!(!clip_exists(&test, "clip_before"));
    // The writer goes on.
    assert_eq!(
        create(db, "clip_after", false).await.unwrap().unwrap(),
        "clip_after"
    );
    assert!(clip_exists(&test, "clip_after"));
}

/// Starts a clip, then `breaker`, then another clip, in one group: all three must fail and
/// neither clip be kept (no write may run, or be answered as written, outside the group's
/// transaction); the next group is written as usual.
async fn assert_group_fails_under(
    breaker: impl FnOnce(&mut Conn) -> Result<(), StoreError> + Send + 'static,
) {
    let test = TestDb::sqlite();
    let db = test.db();
    let held = hold_the_writer(db, Duration::from_millis(200)).await;
    let before = create(db, "clip_before", false);
    queued().await;
    let broken = {
        let db = db.clone();
        tokio::spawn(async move { db.write(breaker).await })
    };
    queued().await;
    let after = create(db, "clip_after", false);
    held.await.unwrap();
    assert!(
        broken.await.unwrap().is_err(),
        "the breaking write was answered as written"
    );
    assert!(
        before.await.unwrap().is_err(),
        "clip_before was answered as written"
    );
    assert!(
        after.await.unwrap().is_err(),
        "clip_after was answered as written"
    );
    assert!(!clip_exists(&test, "clip_before"));
    assert!(
        !clip_exists(&test, "clip_after"),
        "a write ran outside the transaction"
    );
    // The writer goes on.
    assert_eq!(
        create(db, "clip_next", false).await.unwrap().unwrap(),
        "clip_next"
    );
    assert!(clip_exists(&test, "clip_next"));
}

// What the database does on its own on a full disk or an I/O error: the whole transaction is
// rolled back under the write.
#[tokio::test]
async fn a_transaction_ended_under_a_write_fails_its_whole_group() {
    assert_group_fails_under(|conn| {
        conn.batch_execute("ROLLBACK")?;
        Ok(())
    })
    .await;
}

// What a savepoint whose release failed leaves behind: one level too many.
#[tokio::test]
async fn a_write_that_leaves_a_savepoint_open_fails_its_whole_group() {
    assert_group_fails_under(|conn| {
        type Manager = <Conn as diesel::Connection>::TransactionManager;
        <Manager as TransactionManager<Conn>>::begin_transaction(conn)?;
        Ok(())
    })
    .await;
}

/// Under a steady stream of writes the WAL is copied into the database file by the background
/// thread and started over by the writer, instead of growing to the safety net. The WAL file
/// keeps its largest size; once it is started over, it stops growing while the writes go on.
/// How soon depends on the disk: under other I/O, the background thread's `fsync` can take
/// seconds, and the WAL grows meanwhile (past 6,000 one-clip commits on a disk busy with
/// `dd … conv=fsync` beside it), so this waits up to a minute.
#[tokio::test]
async fn sqlite_wal_starts_over_under_steady_writes() {
    let test = TestDb::sqlite();
    let db = test.open(&OpenOptions {
        mode: Mode::Migrate,
        wal_restart_pages: 1_000,
        ..OpenOptions::default()
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    // 400 commits write about 850 pages: a WAL started over (past 1,000 pages) holds them
    // without growing, one that never is grows by as much every round.
    let round = 400;
    let mut last = 0;
    for i in (0..).step_by(round) {
        for j in i..i + round {
            // Each clip is its own group (its answer is waited for): a commit of a few pages.
            create(&db, &format!("clip_{j}"), false)
                .await
                .unwrap()
                .unwrap();
        }
        let pages = wal_pages(&test.url);
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
