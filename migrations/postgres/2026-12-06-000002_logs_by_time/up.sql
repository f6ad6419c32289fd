-- The list of logs by time (GET /publishing/logs): the logs this scheduler plans, by
-- (scheduled_for, id). Partial, so that the tick's claim, whose condition does not say
-- schedule_type, cannot use it: a full index on (scheduled_for, id) tempted PostgreSQL's
-- planner into a claim that scans past every log moved before it (docs/benchmarks.md,
-- session 9), and a database that ran the first version of the lists' migration has one.
DROP INDEX IF EXISTS publish_logs_scheduled_for_id;
CREATE INDEX publish_logs_scheduled_by_time ON publish_logs (scheduled_for, id)
    WHERE schedule_type = 'scheduled';
