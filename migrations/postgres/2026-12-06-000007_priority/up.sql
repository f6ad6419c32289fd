-- Priority (contract section 12): 0 low, 1 normal (every post and series made before), 2 high.
-- A number, so that ordering by it orders by priority.
ALTER TABLE publish_logs ADD COLUMN priority SMALLINT NOT NULL DEFAULT 1 CHECK (priority BETWEEN 0 AND 2);
ALTER TABLE publish_series ADD COLUMN priority SMALLINT NOT NULL DEFAULT 1 CHECK (priority BETWEEN 0 AND 2);
