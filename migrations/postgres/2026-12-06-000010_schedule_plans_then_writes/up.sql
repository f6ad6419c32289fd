-- A schedule in two round trips and no transaction of its own (issue 21): it reads what it
-- plans among without the account's lock (schedule_peek), plans, and then one statement takes
-- the lock, reads the posts again and writes only if they are the posts it planned among
-- (schedule_commit). A writer that committed in between makes it plan again among the posts it
-- returns. The lock still serializes the writers of one account: nothing is written but under
-- it, and only where the plan holds among every post committed before.
--
-- schedule_posts: the posts a schedule plans among, those of schedule_context (migration
-- 000009): the account's active posts on the platform in [p_from, p_until], here sorted, so
-- that the two reads compare as arrays. One function for both reads, so they cannot differ.
-- STABLE: its statement runs with the snapshot of the statement that calls it (in
-- schedule_commit, one taken after the lock). PL/pgSQL keeps its plan for the session.
CREATE FUNCTION schedule_posts(
  p_account TEXT, p_platform TEXT, p_from TIMESTAMP, p_until TIMESTAMP
) RETURNS TIMESTAMP[] LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN ARRAY(
    SELECT t FROM (
      SELECT l.scheduled_for AT TIME ZONE 'UTC' FROM publish_logs l
      WHERE l.social_account_id = p_account AND l.platform = p_platform
        AND l.status IN ('scheduled', 'pending', 'processing', 'published', 'unconfirmed')
        AND l.scheduled_for BETWEEN (p_from AT TIME ZONE 'UTC') AND (p_until AT TIME ZONE 'UTC')
      UNION ALL
      SELECT l.created_at AT TIME ZONE 'UTC' FROM publish_logs l
      WHERE l.social_account_id = p_account AND l.platform = p_platform
        AND l.status IN ('scheduled', 'pending', 'processing', 'published', 'unconfirmed')
        AND l.scheduled_for IS NULL
        AND l.created_at BETWEEN (p_from AT TIME ZONE 'UTC') AND (p_until AT TIME ZONE 'UTC')
    ) AS posts(t) ORDER BY t
  );
END
$$;

-- schedule_context (migration 000009) reads its posts with schedule_posts too: the same
-- signature and answer (its posts now sorted, as the store sorts them anyway).
CREATE OR REPLACE FUNCTION schedule_context(
  p_account TEXT, p_clip TEXT, p_from TIMESTAMP, p_until TIMESTAMP,
  OUT account_id TEXT, OUT account_platform TEXT, OUT account_handle TEXT,
  OUT account_timezone TEXT, OUT account_created_at TIMESTAMP, OUT account_calendar_key TEXT,
  OUT clip_exists BOOLEAN, OUT post_times TIMESTAMP[]
) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  SELECT a.id, a.platform, a.handle, a.timezone, a.created_at AT TIME ZONE 'UTC', a.calendar_key
    INTO account_id, account_platform, account_handle, account_timezone, account_created_at,
         account_calendar_key
    FROM social_accounts a WHERE a.id = p_account;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  PERFORM pg_advisory_xact_lock(1, hashtext(account_id));
  clip_exists := EXISTS (SELECT 1 FROM clips c WHERE c.id = p_clip);
  -- An expression of its own in a VOLATILE function: a fresh snapshot, after the lock.
  post_times := schedule_posts(p_account, account_platform, p_from, p_until);
END
$$;

-- schedule_peek: schedule_context without the lock. STABLE: its statements share the snapshot
-- of the statement that calls it, so the account, the clip and the posts are read as of one
-- instant, and a refusal made from them is one a serial order of the writers would make.
CREATE FUNCTION schedule_peek(
  p_account TEXT, p_clip TEXT, p_from TIMESTAMP, p_until TIMESTAMP,
  OUT account_id TEXT, OUT account_platform TEXT, OUT account_handle TEXT,
  OUT account_timezone TEXT, OUT account_created_at TIMESTAMP, OUT account_calendar_key TEXT,
  OUT clip_exists BOOLEAN, OUT post_times TIMESTAMP[]
) LANGUAGE plpgsql STABLE AS $$
BEGIN
  SELECT a.id, a.platform, a.handle, a.timezone, a.created_at AT TIME ZONE 'UTC', a.calendar_key
    INTO account_id, account_platform, account_handle, account_timezone, account_created_at,
         account_calendar_key
    FROM social_accounts a WHERE a.id = p_account;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  clip_exists := EXISTS (SELECT 1 FROM clips c WHERE c.id = p_clip);
  post_times := schedule_posts(p_account, account_platform, p_from, p_until);
END
$$;

-- schedule_commit: the account's lock, then its posts in [p_from, p_until] as of now (a
-- statement of its own in a VOLATILE function: a fresh snapshot, after the lock, as in
-- schedule_context). If they are p_planned_among, the log and its events are written
-- (schedule_insert) and the answer is NULL; else nothing is written and the answer is the
-- posts, sorted. p_platform is the account's own (the store refuses a request naming another
-- before it plans). The lock is held to the end of the transaction: the statement's own, or
-- the caller's.
CREATE FUNCTION schedule_commit(
  p_from TIMESTAMP, p_until TIMESTAMP, p_planned_among TIMESTAMP[],
  p_id TEXT, p_clip TEXT, p_platform TEXT, p_account TEXT, p_scheduled_for TIMESTAMP,
  p_window_end TIMESTAMP, p_scheduled_by TEXT, p_requested_for TIMESTAMP, p_reason TEXT,
  p_now TIMESTAMP, p_priority SMALLINT, p_window_end_given BOOLEAN,
  e_id TEXT[], e_type TEXT[], e_entity_type TEXT[], e_entity_id TEXT[], e_metadata TEXT[],
  e_created_at TIMESTAMP[]
) RETURNS TIMESTAMP[] LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  posts TIMESTAMP[];
BEGIN
  PERFORM pg_advisory_xact_lock(1, hashtext(p_account));
  posts := schedule_posts(p_account, p_platform, p_from, p_until);
  IF posts IS DISTINCT FROM p_planned_among THEN
    RETURN posts;
  END IF;
  PERFORM schedule_insert(p_id, p_clip, p_platform, p_account, p_scheduled_for, p_window_end,
    p_scheduled_by, p_requested_for, p_reason, p_now, p_priority, p_window_end_given,
    e_id, e_type, e_entity_type, e_entity_id, e_metadata, e_created_at);
  RETURN NULL;
END
$$;
