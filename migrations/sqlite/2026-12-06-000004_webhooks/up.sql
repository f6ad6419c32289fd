-- Webhooks (contract section 9): subscriptions, and one delivery row per event and
-- subscription, claimed with a lease by whichever deliverer gets it first.

CREATE TABLE webhook_subscriptions (
    id          TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    -- A JSON array of event types; NULL: every type.
    event_types TEXT,
    description TEXT,
    -- whsec_ and the base64 key: the deliverer signs with it, so it is kept as given.
    secret      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    -- The feed position (txid, seq) up to which this subscription's deliveries are made.
    feed_txid   BIGINT NOT NULL,
    feed_seq    BIGINT NOT NULL,
    -- PostgreSQL: the snapshot the subscription was made in (txid_current_snapshot()); the
    -- events of transactions it sees were committed before, and are not delivered.
    feed_snapshot TEXT
);

CREATE TABLE webhook_deliveries (
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_seq       BIGINT NOT NULL,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    -- pending, delivered or failed.
    status          TEXT NOT NULL,
    -- Attempts begun (a claim counts one), since the delivery was made or retried by hand.
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- pending: when it may be claimed; while a deliverer holds it, when its lease ends.
    next_attempt_at TIMESTAMP,
    lease_token     TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    -- The receiver's last answer, cut to 1 KiB.
    last_response   TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    delivered_at    TIMESTAMP,
    PRIMARY KEY (subscription_id, event_seq)
);
-- What a deliverer may claim, per subscription, soonest first.
CREATE INDEX webhook_deliveries_due
    ON webhook_deliveries (subscription_id, next_attempt_at, event_seq) WHERE status = 'pending';
-- The failed list.
CREATE INDEX webhook_deliveries_failed
    ON webhook_deliveries (subscription_id, event_seq) WHERE status = 'failed';
