DROP INDEX publish_logs_leases;
ALTER TABLE publish_logs DROP COLUMN engagement;
ALTER TABLE publish_logs DROP COLUMN last_error;
ALTER TABLE publish_logs DROP COLUMN permalink;
ALTER TABLE publish_logs DROP COLUMN platform_post_id;
ALTER TABLE publish_logs DROP COLUMN leased_by;
ALTER TABLE publish_logs DROP COLUMN lease_expires_at;
ALTER TABLE publish_logs DROP COLUMN lease_token;
ALTER TABLE publish_logs DROP COLUMN attempt;
