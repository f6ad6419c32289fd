-- One chunk of scale_10m's ledger (run by scripts/scale/run.sh with SCALE_EVENTS): events :lo to
-- :hi, three a log in turn (created, enqueued, published) for the first logs by id, whatever
-- those logs' status; a second apart from 400 days ago on, and their metadata a fixed shape of
-- the real one's size. What matters for the measurement is the ledger's size and its indexes,
-- not what the events say. txid 0: they read as written before the feed existed (what
-- migration 000001 gave the events it found), so the feed's positions, which start at the
-- newest real event, never wait on them.
INSERT INTO ledger_events (id, event_type, entity_type, entity_id, metadata, created_at, txid)
SELECT 'evt_' || lpad(i::text, 9, '0'),
  (ARRAY['publish_scheduled_created','publish_scheduled_enqueued','publish_published'])[1 + i % 3],
  'publish_log', 'log_' || lpad((i / 3)::text, 8, '0'),
  '{"clip_id":"clip_' || (i / 3) % 1000 || '","platform":"instagram","social_account_id":"acc_'
    || (i / 3) % 1000000 || '","status":"scheduled"}',
  now() - interval '400 days' + make_interval(secs => i),
  0
FROM generate_series(:lo::bigint, :hi::bigint) i;
