DROP INDEX publish_logs_due_low;
DROP INDEX publish_logs_due_high;
DROP INDEX publish_logs_pending_by_priority;
ALTER TABLE publish_series DROP COLUMN priority;
ALTER TABLE publish_logs DROP COLUMN window_end_given;
ALTER TABLE publish_logs DROP COLUMN priority;
