-- The scheduler's tables on PostgreSQL. Every timestamp is `timestamptz`, so queries such as
-- `scheduled_for > NOW()` or `DATE(created_at) = CURRENT_DATE` are right in any session time
-- zone; the application's connections use UTC. Ids are the application's prefixed strings.

CREATE TABLE social_accounts (
    id          TEXT PRIMARY KEY,
    platform    TEXT NOT NULL,
    handle      TEXT,
    timezone    TEXT NOT NULL DEFAULT 'UTC',
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE clips (
    id          TEXT PRIMARY KEY,
    title       TEXT,
    media_url   TEXT,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE publish_logs (
    id                    TEXT PRIMARY KEY,
    clip_id               TEXT NOT NULL REFERENCES clips (id),
    platform              TEXT NOT NULL,
    social_account_id     TEXT NOT NULL REFERENCES social_accounts (id),
    status                TEXT NOT NULL,
    schedule_type         TEXT NOT NULL,
    scheduled_for         TIMESTAMPTZ,
    scheduled_window_end  TIMESTAMPTZ,
    scheduled_by          TEXT NOT NULL DEFAULT 'manual',
    requested_for         TIMESTAMPTZ,
    reason                TEXT,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX publish_logs_status_scheduled_for ON publish_logs (status, scheduled_for);
CREATE INDEX publish_logs_account_platform_scheduled_for
    ON publish_logs (social_account_id, platform, scheduled_for);
-- Logs written without a time (by another tool) count at their creation time.
CREATE INDEX publish_logs_unscheduled_account_platform_created_at
    ON publish_logs (social_account_id, platform, created_at) WHERE scheduled_for IS NULL;
CREATE INDEX publish_logs_clip_id ON publish_logs (clip_id);

CREATE TABLE ledger_events (
    seq          BIGSERIAL PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    event_type   TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    metadata     TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX ledger_events_entity_id ON ledger_events (entity_id);
CREATE INDEX ledger_events_event_type_created_at ON ledger_events (event_type, created_at);

CREATE TABLE idempotency_keys (
    key              TEXT NOT NULL,
    endpoint         TEXT NOT NULL,
    request_hash     TEXT NOT NULL,
    response_status  INTEGER NOT NULL,
    response_body    TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (key, endpoint)
);
