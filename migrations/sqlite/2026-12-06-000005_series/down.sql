DROP INDEX publish_logs_series_occurrence;
ALTER TABLE publish_logs DROP COLUMN occurrence;
ALTER TABLE publish_logs DROP COLUMN series_id;
DROP TABLE publish_series;
