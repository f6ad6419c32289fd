//! A failure between writes leaves nothing behind; a caller may own the transaction.

use diesel::connection::SimpleConnection;
use scheduler_core::RuleSet;
use scheduler_store::{schedule, write_transaction, Conn, StoreError};

use crate::support::{account_and_clip, both_backends, counts, now, request};

/// Makes every insert into `ledger_events` fail, as a crash between the log's insert and its
/// events' would.
fn break_the_ledger(conn: &mut Conn) {
    let sql = match conn {
        Conn::Pg(_) => {
            "CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$; \
             CREATE TRIGGER refuse_event BEFORE INSERT ON ledger_events \
             FOR EACH ROW EXECUTE FUNCTION refuse_event();"
        }
        Conn::Sqlite(_) => {
            "CREATE TRIGGER refuse_event BEFORE INSERT ON ledger_events \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
        }
    };
    conn.batch_execute(sql).unwrap();
}

both_backends! {
    fn failing_event_insert_leaves_no_log(db) {
        let conn = &mut db.conn();
        let (account, clip) = account_and_clip(conn, "UTC");
        break_the_ledger(conn);
        let result = schedule(conn, &RuleSet::default(), &request(&account, &clip, None), now());
        match result {
            Err(StoreError::Database(e)) => assert!(e.to_string().contains("injected failure"), "{e}"),
            other => panic!("expected a database error, got {other:?}"),
        }
        assert_eq!(counts(conn), (0, 0));
        // The connection is usable afterwards.
        scheduler_store::ping(conn).unwrap();
    }

    fn a_failure_in_the_callers_transaction_undoes_the_schedule(db) {
        let conn = &mut db.conn();
        let (account, clip) = account_and_clip(conn, "UTC");
        let result: Result<(), StoreError> = write_transaction(conn, |conn| {
            schedule(conn, &RuleSet::default(), &request(&account, &clip, None), now())?;
            assert_eq!(counts(conn), (1, 2));
            Err(StoreError::Conflict("injected".into()))
        });
        assert!(matches!(result, Err(StoreError::Conflict(_))));
        assert_eq!(counts(conn), (0, 0));
    }
}
