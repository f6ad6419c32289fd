-- The best-time suggestions' history (contract section 13), kept as it is recorded: for each
-- account, and for each platform across its accounts, the published posts whose views are known
-- and the sum of their ln(1 + views), by day (UTC, of the post's time) and local hour of the
-- week (0 is Monday 00:00 on the account's clock). A suggestion reads at most 90 days × 168 rows
-- of each, however many posts there are. The store fills them from the posts published before,
-- in the transaction that applies this migration.
CREATE TABLE account_engagement_hours (
  social_account_id TEXT NOT NULL,
  day TEXT NOT NULL,
  hour_of_week INTEGER NOT NULL CHECK (hour_of_week BETWEEN 0 AND 167),
  posts INTEGER NOT NULL,
  log_views REAL NOT NULL,
  PRIMARY KEY (social_account_id, day, hour_of_week)
);

CREATE TABLE platform_engagement_hours (
  platform TEXT NOT NULL,
  day TEXT NOT NULL,
  hour_of_week INTEGER NOT NULL CHECK (hour_of_week BETWEEN 0 AND 167),
  posts INTEGER NOT NULL,
  log_views REAL NOT NULL,
  PRIMARY KEY (platform, day, hour_of_week)
);

-- The views a published post counts with in the history (NULL: it does not count), changed in
-- the transaction that changes the history: a new snapshot moves the post's count from these
-- views, whatever wrote the snapshot before (a server from before this migration counts nothing).
ALTER TABLE publish_logs ADD COLUMN counted_views INTEGER;
