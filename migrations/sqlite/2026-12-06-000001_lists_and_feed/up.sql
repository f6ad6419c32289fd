-- The feed's order (GET /ledger/feed).

-- SQLite has one writer at a time, so seq is commit order: txid stays 0 (PostgreSQL's
-- migration says why it needs the writing transaction there).
ALTER TABLE ledger_events ADD COLUMN txid BIGINT NOT NULL DEFAULT 0;
CREATE INDEX ledger_events_txid_seq ON ledger_events (txid, seq);
