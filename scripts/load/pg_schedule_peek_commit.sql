-- The statements one POST /publishing/schedule sends on PostgreSQL since migration 000010: two
-- round trips and no BEGIN or COMMIT (the account, the clip and the posts read without the lock;
-- then the lock, the posts again and the log with its events, in one statement that is its own
-- transaction), driven by pgbench as ../shared/bench/pg_schedule_limit.sql drives the earlier
-- set: the database's own limit for this work. Run it as that script's README says (same
-- database, accounts and clips):
--   PGSSLMODE=disable pgbench -h 127.0.0.1 -U postgres -n -M prepared -c 32 -j 2 -T 15 \
--     -f scripts/load/pg_schedule_peek_commit.sql limit_db
-- The posts planned among are passed as read, so every commit writes, as almost every one does
-- under the load script (a commit that finds them changed writes nothing and the server sends
-- it again). The span is the one the store reads for Instagram (its 60-minute gap and a
-- second before the time, two days and the gap after). :planned is bound as a parameter:
-- run with -M prepared or -M extended.
\set a random(0, 999)
\set c random(0, 99)
\set m random(0, 4000000)
SELECT post_times AS planned FROM schedule_peek('acc_' || :a, 'clip_' || :c, timestamp '2030-01-15 18:00:00' + make_interval(secs => :m) - interval '60 minutes 1 second', timestamp '2030-01-15 18:00:00' + make_interval(secs => :m) + interval '2 days 60 minutes') \gset
SELECT schedule_commit(timestamp '2030-01-15 18:00:00' + make_interval(secs => :m) - interval '60 minutes 1 second', timestamp '2030-01-15 18:00:00' + make_interval(secs => :m) + interval '2 days 60 minutes', :planned::timestamp[], 'log_' || md5(random()::text || clock_timestamp()::text), 'clip_' || :c, 'instagram', 'acc_' || :a, timestamp '2030-01-15 18:00:00' + make_interval(secs => :m), timestamp '2030-01-15 23:00:00', 'manual', timestamp '2030-01-15 18:00:00', 'Scheduled as requested', (now() AT TIME ZONE 'UTC'), 1::smallint, false, ARRAY['evt_' || md5(random()::text || clock_timestamp()::text), 'evt_' || md5(random()::text || clock_timestamp()::text)], ARRAY['publish_scheduled_created', 'publish_scheduled_adjusted'], ARRAY['publish_log', 'publish_log'], ARRAY['log_x', 'log_x'], ARRAY['{"clip_id":"clip_1","platform":"instagram","requested_for":"2030-01-15T18:10:00Z","scheduled_by":"manual","scheduled_for":"2030-01-15T18:10:00Z","scheduled_window_end":"2030-01-15T23:00:00Z","social_account_id":"acc_1","status":"scheduled"}', '{"clip_id":"clip_1","platform":"instagram","original_time":"2030-01-15T18:10:00Z","adjusted_time":"2030-01-15T19:10:00Z","reason":"Adjusted 50min forward to respect 60min gap"}'], ARRAY[(now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC')]);
