-- Priority (contract section 12): 0 low, 1 normal (every post and series made before), 2 high.
-- A number, so that ordering by it orders by priority.
ALTER TABLE publish_logs ADD COLUMN priority SMALLINT NOT NULL DEFAULT 1 CHECK (priority BETWEEN 0 AND 2);
ALTER TABLE publish_series ADD COLUMN priority SMALLINT NOT NULL DEFAULT 1 CHECK (priority BETWEEN 0 AND 2);

-- Whether `scheduled_window_end` is a bound its client gave (or a series' next occurrence), as
-- opposed to the end of the window holding the slot: a post a higher-priority one displaces
-- never lands after a given bound. Posts made before are taken as without one.
ALTER TABLE publish_logs ADD COLUMN window_end_given BOOLEAN NOT NULL DEFAULT FALSE;

-- Claims take the highest priority first, then the oldest: pending logs in that order. Partial,
-- so it holds only the pending logs (few: workers take them as the tick makes them).
CREATE INDEX publish_logs_pending_by_priority ON publish_logs (priority DESC, scheduled_for, id)
  WHERE status = 'pending';
-- The tick moves due high posts first, then normal ones (by the index on (status,
-- scheduled_for, id)), then low ones: the high and the low scheduled posts by time. Partial, so
-- that the common normal post costs no write here, and one for each, because SQLite uses a
-- partial index only when the query names its condition term by term.
CREATE INDEX publish_logs_due_high ON publish_logs (scheduled_for, id)
  WHERE status = 'scheduled' AND priority = 2;
CREATE INDEX publish_logs_due_low ON publish_logs (scheduled_for, id)
  WHERE status = 'scheduled' AND priority = 0;
