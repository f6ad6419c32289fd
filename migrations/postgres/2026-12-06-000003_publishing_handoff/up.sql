-- The publishing handoff (contract section 8): a worker claims a pending log with a lease,
-- publishes it and reports. The lease token fences the reports: only the claim that holds it
-- may move the log on.
ALTER TABLE publish_logs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE publish_logs ADD COLUMN lease_token TEXT;
ALTER TABLE publish_logs ADD COLUMN lease_expires_at TIMESTAMPTZ;
ALTER TABLE publish_logs ADD COLUMN leased_by TEXT;
ALTER TABLE publish_logs ADD COLUMN platform_post_id TEXT;
ALTER TABLE publish_logs ADD COLUMN permalink TEXT;
ALTER TABLE publish_logs ADD COLUMN last_error TEXT;
-- The engagement a worker reported with its completion, as JSON.
ALTER TABLE publish_logs ADD COLUMN engagement TEXT;
-- The tick's search for expired leases.
CREATE INDEX publish_logs_leases ON publish_logs (lease_expires_at, id) WHERE status = 'processing';
