ALTER TABLE social_accounts DROP COLUMN calendar_key;
