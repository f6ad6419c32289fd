DROP TABLE idempotency_keys;
DROP TABLE ledger_events;
DROP TABLE publish_logs;
DROP TABLE clips;
DROP TABLE social_accounts;
