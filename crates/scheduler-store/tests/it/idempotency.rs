//! Idempotency keys: the first answer is stored with the write it answers, and replayed.

use chrono::{DateTime, Utc};
use scheduler_core::RuleSet;
use scheduler_store::idempotency::{self, Answer, IdempotencyKey, StoredResponse};
use scheduler_store::{schedule, Conn, StoreError};

use scheduler_testkit::TestDb;

use crate::support::{account_and_clip, both_backends, counts, now, request};

fn key(key: &str, endpoint: &str, hash: &str) -> IdempotencyKey {
    IdempotencyKey {
        key: key.into(),
        endpoint: endpoint.into(),
        request_hash: hash.into(),
    }
}

fn answered(body: &str) -> Answer {
    Answer {
        response: StoredResponse {
            status: 201,
            body: body.into(),
            location: Some("/clips/c".into()),
        },
        wrote: true,
    }
}

/// Schedules one post under `key` and answers `body`.
fn schedule_under(
    conn: &mut Conn,
    key: &IdempotencyKey,
    body: &str,
    at: DateTime<Utc>,
) -> Result<StoredResponse, StoreError> {
    let (account, clip) = account_and_clip(conn, "UTC");
    idempotency::run(conn, Some(key), at, |conn| {
        schedule(
            conn,
            &RuleSet::default(),
            &request(&account, &clip, None),
            at,
        )?;
        Ok(answered(body))
    })
}

both_backends! {
    fn a_retry_gets_the_first_answer_and_writes_nothing(db) {
        let conn = &mut db.conn();
        let first = key("k1", "POST /publishing/schedule", "h1");
        let answer = schedule_under(conn, &first, "first", now()).unwrap();
        assert_eq!(answer.body, "first");
        let written = counts(conn);
        let replay = idempotency::run(conn, Some(&first), now(), |_| -> Result<Answer, StoreError> {
            panic!("a retry must not write")
        });
        assert_eq!(replay.unwrap(), answer);
        assert_eq!(counts(conn), written);
        // The same key with another body is refused; on another endpoint it is another key.
        let reused = idempotency::run(conn, Some(&key("k1", "POST /publishing/schedule", "h2")), now(), |_| {
            Ok::<_, StoreError>(answered("second"))
        });
        assert!(matches!(reused, Err(StoreError::KeyReused(k)) if k == "k1"));
        let elsewhere = idempotency::run(conn, Some(&key("k1", "POST /clips", "h2")), now(), |_| {
            Ok::<_, StoreError>(answered("elsewhere"))
        });
        assert_eq!(elsewhere.unwrap().body, "elsewhere");
    }

    fn nothing_is_stored_for_an_error_or_an_answer_that_wrote_nothing(db) {
        let conn = &mut db.conn();
        let k = key("k2", "POST /clips", "h");
        let failed = idempotency::run(conn, Some(&k), now(), |_| -> Result<Answer, StoreError> {
            Err(StoreError::Internal("no".into()))
        });
        assert!(failed.is_err());
        let nothing = idempotency::run(conn, Some(&k), now(), |_| {
            Ok::<_, StoreError>(Answer { wrote: false, ..answered("nothing") })
        });
        assert_eq!(nothing.unwrap().body, "nothing");
        // Neither was stored: the key answers anew.
        let fresh = idempotency::run(conn, Some(&k), now(), |_| Ok::<_, StoreError>(answered("fresh")));
        assert_eq!(fresh.unwrap().body, "fresh");
    }
}

/// A request with the same key that stores its answer while this one runs wins: this one's
/// write is rolled back, and its answer is the stored one. (On SQLite the race cannot happen:
/// the one writer runs the two requests one after the other, and the second finds the key.)
#[test]
fn postgres_a_concurrent_request_that_stored_its_answer_first_wins() {
    let Some(db) = TestDb::postgres() else {
        return;
    };
    let conn = &mut db.conn();
    let k = key("k3", "POST /publishing/schedule", "h");
    let (account, clip) = account_and_clip(conn, "UTC");
    let answer = idempotency::run(conn, Some(&k), now(), |conn| {
        schedule(
            conn,
            &RuleSet::default(),
            &request(&account, &clip, None),
            now(),
        )?;
        // The other request, on its own connection, commits first.
        let (other, other_key) = (db.db().clone(), k.clone());
        std::thread::spawn(move || {
            let conn = &mut other.conn().unwrap();
            idempotency::run(conn, Some(&other_key), now(), |_| {
                Ok::<_, StoreError>(answered("the other"))
            })
            .unwrap();
        })
        .join()
        .unwrap();
        Ok::<_, StoreError>(answered("this one"))
    })
    .unwrap();
    assert_eq!(answer.body, "the other");
    assert_eq!(counts(conn).0, 0, "the losing request's log was kept");
}
