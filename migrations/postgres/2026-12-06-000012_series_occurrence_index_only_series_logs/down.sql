DROP INDEX publish_logs_series_occurrence;
CREATE UNIQUE INDEX publish_logs_series_occurrence ON publish_logs (series_id, occurrence);
