DROP INDEX ledger_events_event_type_seq;
CREATE INDEX ledger_events_event_type_created_at ON ledger_events (event_type, created_at);
