-- One chunk of scale_10m's logs (run by scripts/scale/run.sh): logs :lo to :hi, ten per account of
-- 1,000,000, with the statuses, times and priorities docs/scaling.md describes.
INSERT INTO publish_logs (id, clip_id, platform, social_account_id, status, schedule_type,
  scheduled_for, scheduled_window_end, scheduled_by, requested_for, reason, created_at, updated_at,
  attempt, priority, window_end_given, lease_token, lease_expires_at, leased_by)
SELECT 'log_' || lpad(i::text, 8, '0'), 'clip_' || (i % 1000),
  (ARRAY['instagram','tiktok','youtube'])[1 + (i % 1000000) % 3], 'acc_' || (i % 1000000),
  s.status, 'scheduled', s.at, s.at + interval '3 hours', 'manual', s.at, 'Scheduled as requested',
  s.at - interval '2 days', s.at - interval '1 day',
  CASE WHEN s.status IN ('published','processing','failed') THEN 1 ELSE 0 END,
  (ARRAY[0,1,1,1,1,1,1,1,1,2])[1 + i % 10]::smallint, false,
  CASE WHEN s.status = 'processing' THEN 'lease_' || i END,
  CASE WHEN s.status = 'processing' THEN now() + interval '5 minutes' END,
  CASE WHEN s.status = 'processing' THEN 'worker-1' END
FROM generate_series(:lo::bigint, :hi::bigint) i
CROSS JOIN LATERAL (SELECT
  CASE WHEN i % 100 < 70 THEN 'published' WHEN i % 100 < 95 THEN 'scheduled'
       WHEN i % 100 < 97 THEN 'pending' WHEN i % 100 < 98 THEN 'processing'
       WHEN i % 100 < 99 THEN 'failed' ELSE 'cancelled' END AS status,
  CASE WHEN i % 100 < 70 OR i % 100 >= 98 THEN now() - make_interval(mins => ((i * 7919) % 525600)::int) - interval '1 hour'
       WHEN i % 100 < 95 THEN now() + make_interval(mins => 1 + ((i * 7919) % 525600)::int)
       ELSE now() - make_interval(mins => ((i * 31) % 120)::int) END AS at) s;
