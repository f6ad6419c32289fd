-- The feed's order (GET /ledger/feed). (The list of logs by time reads the existing indexes:
-- an index on (scheduled_for, id) alone would tempt PostgreSQL's planner into the tick's
-- claim, which then scans past every log it moved before: a tick of 100,000 logs took 2.4
-- times as long.)

-- SQLite has one writer at a time, so seq is commit order: txid stays 0 (PostgreSQL's
-- migration says why it needs the writing transaction there).
ALTER TABLE ledger_events ADD COLUMN txid BIGINT NOT NULL DEFAULT 0;
CREATE INDEX ledger_events_txid_seq ON ledger_events (txid, seq);
