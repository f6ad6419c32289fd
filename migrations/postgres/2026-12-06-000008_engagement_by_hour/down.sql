ALTER TABLE publish_logs DROP COLUMN counted_views;
DROP TABLE platform_engagement_hours;
DROP TABLE account_engagement_hours;
