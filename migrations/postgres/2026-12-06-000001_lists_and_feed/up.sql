-- The feed's order (GET /ledger/feed). (The list of logs by time reads the existing indexes:
-- an index on (scheduled_for, id) alone would tempt PostgreSQL's planner into the tick's
-- claim, which then scans past every log it moved before: a tick of 100,000 logs took 2.4
-- times as long.)

-- The transaction that wrote each event. A reader of the feed takes only events of
-- transactions older than every transaction still running (pg_snapshot_xmin), so an event
-- whose transaction commits late is read late, never skipped. Events written before this
-- migration are all committed: transaction 0, in seq order.
ALTER TABLE ledger_events ADD COLUMN txid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ledger_events ALTER COLUMN txid SET DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX ledger_events_txid_seq ON ledger_events (txid, seq);
