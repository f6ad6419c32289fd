-- The calendar (contract section 11): each account's read-only key for its iCalendar feed,
-- which works without the bearer token and shows that account's posts only. SQLite cannot add
-- a NOT NULL column without a constant default: the server gives every new account a key.
ALTER TABLE social_accounts ADD COLUMN calendar_key TEXT;
UPDATE social_accounts SET calendar_key = 'cal_' || lower(hex(randomblob(32)));
