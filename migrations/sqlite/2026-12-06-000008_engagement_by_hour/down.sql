DROP TABLE platform_engagement_hours;
DROP TABLE account_engagement_hours;
