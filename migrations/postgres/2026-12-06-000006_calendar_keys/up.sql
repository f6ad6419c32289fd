-- The calendar (contract section 11): each account's read-only key for its iCalendar feed,
-- which works without the bearer token and shows that account's posts only. The server gives
-- every account without one a key (random, from the operating system) when it starts, and
-- every new account one when it is made; NULL until then.
ALTER TABLE social_accounts ADD COLUMN calendar_key TEXT;
