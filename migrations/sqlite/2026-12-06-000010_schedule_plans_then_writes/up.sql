-- Nothing here: PostgreSQL's schedule_peek and schedule_commit save round trips, which SQLite,
-- in the process, does not have. The version keeps the two backends' migrations in step.
SELECT 1;
