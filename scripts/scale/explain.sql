-- The statements of one schedule, tick batch, claim, the lists and the dry run, as the release
-- server sends them (captured with log_statement = all), with their parameters; writes are
-- rolled back. Run by scripts/scale/run.sh against scale_10m.
\timing on
\echo === 1. schedule: the posts schedule_context reads after the lock (acc_424242, a 2-day span)
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT l.scheduled_for AT TIME ZONE 'UTC' FROM publish_logs l
WHERE l.social_account_id = 'acc_424242' AND l.platform = 'instagram'
  AND l.status IN ('scheduled', 'pending', 'processing', 'published', 'unconfirmed')
  AND l.scheduled_for BETWEEN (timestamp '2027-03-01 15:59:59' AT TIME ZONE 'UTC') AND (timestamp '2027-03-03 18:00:00' AT TIME ZONE 'UTC')
UNION ALL
SELECT l.created_at AT TIME ZONE 'UTC' FROM publish_logs l
WHERE l.social_account_id = 'acc_424242' AND l.platform = 'instagram'
  AND l.status IN ('scheduled', 'pending', 'processing', 'published', 'unconfirmed')
  AND l.scheduled_for IS NULL
  AND l.created_at BETWEEN (timestamp '2027-03-01 15:59:59' AT TIME ZONE 'UTC') AND (timestamp '2027-03-03 18:00:00' AT TIME ZONE 'UTC');
\echo === 2. schedule: the whole call, then the insert (rolled back)
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT schedule_context('acc_777777', 'clip_7', timestamp '2027-03-01 15:59:59', timestamp '2027-03-03 18:00:00');
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT schedule_insert('log_x1', 'clip_7', 'instagram', 'acc_777777', timestamp '2027-03-01 17:00:00', timestamp '2027-03-01 22:00:00', 'manual', timestamp '2027-03-01 17:00:00', 'Scheduled as requested', timestamp '2026-12-06 17:00:00', 1::smallint, false, ARRAY['evt_x1'], ARRAY['publish_scheduled_created'], ARRAY['publish_log'], ARRAY['log_x1'], ARRAY['{}'], ARRAY[timestamp '2026-12-06 17:00:00']);
ROLLBACK;
\echo === 3. tick: one batch of 500 due normal posts (rolled back)
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
WITH claimed AS MATERIALIZED (
  SELECT id FROM publish_logs
  WHERE status = 'scheduled' AND priority = 1
    AND scheduled_for <= date_trunc('second', now() + interval '3 days')
    AND scheduled_for >= timestamp '1970-01-01 00:00:00'
  ORDER BY scheduled_for, id LIMIT 500 FOR UPDATE SKIP LOCKED)
UPDATE publish_logs AS p SET status = 'pending', updated_at = date_trunc('second', now())
FROM claimed WHERE p.id = claimed.id
RETURNING p.id, p.clip_id, p.platform, p.social_account_id, p.scheduled_for, p.updated_at;
ROLLBACK;
\echo === 4. claim: 10 pending posts, highest priority first (rolled back)
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
WITH claimed AS MATERIALIZED (
  SELECT id, scheduled_for, priority FROM publish_logs
  WHERE status = 'pending' AND scheduled_for IS NOT NULL AND (cardinality('{}'::text[]) = 0 OR platform = ANY('{}'))
  ORDER BY priority DESC, scheduled_for, id LIMIT 10 FOR UPDATE SKIP LOCKED),
numbered AS (SELECT id, row_number() OVER (ORDER BY priority DESC, scheduled_for, id) AS n FROM claimed)
UPDATE publish_logs AS p SET status = 'processing', attempt = p.attempt + 1, lease_token = 'tok' || numbered.n,
  lease_expires_at = date_trunc('second', now()) + interval '300 seconds', leased_by = 'w1', updated_at = date_trunc('second', now())
FROM numbered WHERE p.id = numbered.id RETURNING p.id;
ROLLBACK;
\echo === 5. GET /publishing/logs?social_account_id=acc_424242&limit=50
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT "publish_logs"."id", "publish_logs"."clip_id", "publish_logs"."platform", "publish_logs"."social_account_id", "publish_logs"."status", "publish_logs"."schedule_type", "publish_logs"."scheduled_for", "publish_logs"."scheduled_window_end", "publish_logs"."scheduled_by", "publish_logs"."requested_for", "publish_logs"."reason", "publish_logs"."created_at", "publish_logs"."updated_at", "publish_logs"."attempt", "publish_logs"."lease_expires_at", "publish_logs"."leased_by", "publish_logs"."platform_post_id", "publish_logs"."permalink", "publish_logs"."last_error", "publish_logs"."series_id", "publish_logs"."occurrence", "publish_logs"."priority", "publish_logs"."engagement" FROM "publish_logs" WHERE ((schedule_type = 'scheduled' AND ("publish_logs"."scheduled_for" IS NOT NULL)) AND ("publish_logs"."social_account_id" = 'acc_424242')) ORDER BY "publish_logs"."scheduled_for" ASC, "publish_logs"."id" ASC LIMIT '51';
\echo === 6. GET /publishing/logs?status=scheduled&limit=100
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT "publish_logs"."id", "publish_logs"."clip_id", "publish_logs"."platform", "publish_logs"."social_account_id", "publish_logs"."status", "publish_logs"."schedule_type", "publish_logs"."scheduled_for", "publish_logs"."scheduled_window_end", "publish_logs"."scheduled_by", "publish_logs"."requested_for", "publish_logs"."reason", "publish_logs"."created_at", "publish_logs"."updated_at", "publish_logs"."attempt", "publish_logs"."lease_expires_at", "publish_logs"."leased_by", "publish_logs"."platform_post_id", "publish_logs"."permalink", "publish_logs"."last_error", "publish_logs"."series_id", "publish_logs"."occurrence", "publish_logs"."priority", "publish_logs"."engagement" FROM "publish_logs" WHERE ((schedule_type = 'scheduled' AND ("publish_logs"."scheduled_for" IS NOT NULL)) AND ("publish_logs"."status" = 'scheduled')) ORDER BY "publish_logs"."scheduled_for" ASC, "publish_logs"."id" ASC LIMIT '101';
\echo === 7. tick, dry run as it was before issue 21: every due post in one read, no limit
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT "due_log"."id" FROM "publish_logs" AS "due_log" WHERE ((("due_log"."status" = 'scheduled') AND ("due_log"."scheduled_for" <= '2026-12-06 16:57:16')) AND ("due_log"."scheduled_for" >= '1970-01-01 00:00:00')) ORDER BY "due_log"."priority" DESC, "due_log"."scheduled_for" ASC, "due_log"."id" ASC;

-- GET /metrics: the backlog, the tick's due condition counted, and the pending posts counted.
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT COUNT(*), min("due_log"."scheduled_for") FROM "publish_logs" AS "due_log" WHERE ((("due_log"."status" = 'scheduled') AND ("due_log"."scheduled_for" <= '2026-12-06 16:57:16')) AND ("due_log"."scheduled_for" >= '1970-01-01 00:00:00'));
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT COUNT(*), min("publish_logs"."scheduled_for") FROM "publish_logs" WHERE ("publish_logs"."status" = 'pending');

-- A schedule since migration 000010: the unlocked read, then the write that checks the posts
-- under the lock (here the posts it gets are those schedule_peek read: it writes).
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT schedule_peek('acc_777777', 'clip_7', timestamp '2027-03-01 15:59:59', timestamp '2027-03-03 18:00:00');
BEGIN;
SELECT post_times AS planned FROM schedule_peek('acc_777777', 'clip_7', timestamp '2027-03-01 15:59:59', timestamp '2027-03-03 18:00:00') \gset
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT schedule_commit(timestamp '2027-03-01 15:59:59', timestamp '2027-03-03 18:00:00', :'planned'::timestamp[], 'log_x2', 'clip_7', 'instagram', 'acc_777777', timestamp '2027-03-01 17:00:00', timestamp '2027-03-01 22:00:00', 'manual', timestamp '2027-03-01 17:00:00', 'Scheduled as requested', timestamp '2026-12-06 17:00:00', 1::smallint, false, ARRAY['evt_x2'], ARRAY['publish_scheduled_created'], ARRAY['publish_log'], ARRAY['log_x2'], ARRAY['{}'], ARRAY[timestamp '2026-12-06 17:00:00']);
SELECT count(*) AS written FROM publish_logs WHERE id = 'log_x2';
ROLLBACK;
