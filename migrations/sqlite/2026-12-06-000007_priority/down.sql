ALTER TABLE publish_series DROP COLUMN priority;
ALTER TABLE publish_logs DROP COLUMN priority;
