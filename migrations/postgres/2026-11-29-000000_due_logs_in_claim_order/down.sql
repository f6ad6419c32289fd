CREATE INDEX publish_logs_status_scheduled_for ON publish_logs (status, scheduled_for);
DROP INDEX publish_logs_status_scheduled_for_id;
