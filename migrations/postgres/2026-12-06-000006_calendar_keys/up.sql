-- The calendar (contract section 11): each account's read-only key for its iCalendar feed,
-- which works without the bearer token and shows that account's posts only.
ALTER TABLE social_accounts ADD COLUMN calendar_key TEXT;
-- 244 random bits, as the server makes them for new accounts. The column takes NULL, as on
-- SQLite: an account another program writes without a key has no feed until it gets one.
UPDATE social_accounts SET calendar_key =
    'cal_' || replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '');
