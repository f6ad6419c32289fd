-- Nothing here: PostgreSQL's schedule_context saves round trips, which SQLite, in the
-- process, does not have. The version keeps the two backends' migrations in step.
SELECT 1;
