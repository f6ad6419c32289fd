DROP INDEX ledger_events_txid_seq;
ALTER TABLE ledger_events DROP COLUMN txid;
