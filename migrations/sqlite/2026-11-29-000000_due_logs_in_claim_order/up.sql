-- Due logs are claimed oldest first, ties by id: `WHERE status = 'scheduled' AND
-- scheduled_for <= now ORDER BY scheduled_for, id LIMIT n`. With `id` in the index, a tick
-- batch reads its logs in claim order and stops at the limit, where the index without it had
-- the claim read every candidate's row for its id and sort them (on SQLite, a third of a tick's
-- instructions; see docs/benchmarks.md, tick, session 6). It still serves every query by
-- (status, scheduled_for), so it replaces that index instead of adding to the writes.
CREATE INDEX publish_logs_status_scheduled_for_id ON publish_logs (status, scheduled_for, id);
DROP INDEX publish_logs_status_scheduled_for;
