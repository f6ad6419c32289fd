-- schedule_context as migration 000009 made it, then the functions this one added.
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
DROP FUNCTION schedule_commit(TIMESTAMP, TIMESTAMP, TIMESTAMP[], TEXT, TEXT, TEXT, TEXT,
  TIMESTAMP, TIMESTAMP, TEXT, TIMESTAMP, TEXT, TIMESTAMP, SMALLINT, BOOLEAN, TEXT[], TEXT[],
  TEXT[], TEXT[], TEXT[], TIMESTAMP[]);
DROP FUNCTION schedule_peek(TEXT, TEXT, TIMESTAMP, TIMESTAMP);
DROP FUNCTION schedule_posts(TEXT, TEXT, TIMESTAMP, TIMESTAMP);
