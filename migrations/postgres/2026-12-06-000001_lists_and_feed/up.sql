-- The feed's order (GET /ledger/feed).

-- The transaction that wrote each event (txid_current(): with its epoch, never wrapping; the
-- name PostgreSQL 12 knows). A reader of the feed takes only events of transactions older
-- than every transaction still running (txid_snapshot_xmin), so an event
-- whose transaction commits late is read late, never skipped. Events written before this
-- migration are all committed: transaction 0, in seq order.
ALTER TABLE ledger_events ADD COLUMN txid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ledger_events ALTER COLUMN txid SET DEFAULT txid_current();
CREATE INDEX ledger_events_txid_seq ON ledger_events (txid, seq);
