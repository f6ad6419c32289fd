-- Priority (contract section 12): 0 low, 1 normal (every post and series made before), 2 high.
-- A number, so that ordering by it orders by priority. (No CHECK here: SQLite cannot drop a
-- column that one names; the store reads only 0, 1 and 2 and fails loudly on anything else.)
ALTER TABLE publish_logs ADD COLUMN priority INTEGER NOT NULL DEFAULT 1;
ALTER TABLE publish_series ADD COLUMN priority INTEGER NOT NULL DEFAULT 1;
