-- The unique (series, occurrence) key holds only the logs a series made: a log scheduled on its
-- own (series_id NULL) was an entry in it all the same, one more index write for every schedule
-- and, at 10,000,000 logs, an index of NULLs that no query reads (docs/benchmarks.md, "Session
-- 16"). Every query of a series' logs says `series_id = …`, which implies the condition, so
-- the planner still uses it; the series' `ON CONFLICT DO NOTHING` names no index, so it still
-- stops a second log for an occurrence.
DROP INDEX publish_logs_series_occurrence;
CREATE UNIQUE INDEX publish_logs_series_occurrence ON publish_logs (series_id, occurrence)
    WHERE series_id IS NOT NULL;
