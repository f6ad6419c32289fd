-- A schedule in fewer round trips (issue 21), as functions the store calls with statements it
-- keeps prepared. Every time in and out is a UTC `timestamp` (converted here, whatever the
-- session's time zone), as the store binds and reads times.
--
-- schedule_context: what a schedule reads before it plans, in one round trip: the account,
-- whether the clip exists, the account's lock, then its active posts on its platform in
-- [p_from, p_until]. The posts are read after the lock is held, by a statement of their own:
-- this function must stay VOLATILE, which gives each of its statements a new snapshot, so the
-- posts include every post that a writer holding the lock before committed (one SELECT that
-- took the lock and read the posts would read them as of its start, before the lock, and so
-- would a STABLE function). Without the account: every field null and no lock. The two index
-- ranges are the store's `post_times` (logs by time, and logs without one by `created_at`).
CREATE FUNCTION schedule_context(
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
  post_times := ARRAY(
    SELECT l.scheduled_for AT TIME ZONE 'UTC' FROM publish_logs l
    WHERE l.social_account_id = p_account AND l.platform = account_platform
      AND l.status IN ('scheduled', 'pending', 'processing', 'published', 'unconfirmed')
      AND l.scheduled_for BETWEEN (p_from AT TIME ZONE 'UTC') AND (p_until AT TIME ZONE 'UTC')
    UNION ALL
    SELECT l.created_at AT TIME ZONE 'UTC' FROM publish_logs l
    WHERE l.social_account_id = p_account AND l.platform = account_platform
      AND l.status IN ('scheduled', 'pending', 'processing', 'published', 'unconfirmed')
      AND l.scheduled_for IS NULL
      AND l.created_at BETWEEN (p_from AT TIME ZONE 'UTC') AND (p_until AT TIME ZONE 'UTC')
  );
END
$$;

-- schedule_insert: a new scheduled log and its ledger events (one array per column, in order),
-- in one round trip. PL/pgSQL keeps its statements' plans for the session (a LANGUAGE sql
-- function plans them at every call before PostgreSQL 18).
CREATE FUNCTION schedule_insert(
  p_id TEXT, p_clip TEXT, p_platform TEXT, p_account TEXT, p_scheduled_for TIMESTAMP,
  p_window_end TIMESTAMP, p_scheduled_by TEXT, p_requested_for TIMESTAMP, p_reason TEXT,
  p_now TIMESTAMP, p_priority SMALLINT, p_window_end_given BOOLEAN,
  e_id TEXT[], e_type TEXT[], e_entity_type TEXT[], e_entity_id TEXT[], e_metadata TEXT[],
  e_created_at TIMESTAMP[]
) RETURNS VOID LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  INSERT INTO publish_logs (id, clip_id, platform, social_account_id, status, schedule_type,
    scheduled_for, scheduled_window_end, scheduled_by, requested_for, reason, created_at,
    updated_at, priority, window_end_given)
  VALUES (p_id, p_clip, p_platform, p_account, 'scheduled', 'scheduled',
    p_scheduled_for AT TIME ZONE 'UTC', p_window_end AT TIME ZONE 'UTC', p_scheduled_by,
    p_requested_for AT TIME ZONE 'UTC', p_reason, p_now AT TIME ZONE 'UTC',
    p_now AT TIME ZONE 'UTC', p_priority, p_window_end_given);
  INSERT INTO ledger_events (id, event_type, entity_type, entity_id, metadata, created_at)
  SELECT e.id, e.event_type, e.entity_type, e.entity_id, e.metadata, e.created_at AT TIME ZONE 'UTC'
  FROM unnest(e_id, e_type, e_entity_type, e_entity_id, e_metadata, e_created_at)
    AS e(id, event_type, entity_type, entity_id, metadata, created_at);
END
$$;
