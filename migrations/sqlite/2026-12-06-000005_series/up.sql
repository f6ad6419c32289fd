-- Recurring series (contract section 10): a rule in the account's local time, whose
-- occurrences become ordinary publish logs, each exactly once.

CREATE TABLE publish_series (
    id                 TEXT PRIMARY KEY,
    clip_id            TEXT NOT NULL REFERENCES clips (id),
    social_account_id  TEXT NOT NULL REFERENCES social_accounts (id),
    platform           TEXT NOT NULL,
    -- The first occurrence, a local date-time without offset (2026-12-07T18:30:00), read in
    -- the account's zone.
    dtstart            TEXT NOT NULL,
    -- The RRULE, written back in a fixed order without the RRULE: prefix.
    rrule              TEXT NOT NULL,
    -- A JSON array of local date-times removed from the set, sorted.
    exdates            TEXT NOT NULL,
    scheduled_by       TEXT NOT NULL,
    -- active or cancelled.
    status             TEXT NOT NULL,
    -- The earliest instant of an occurrence not made yet: the tick extends the series when it
    -- comes within the horizon. NULL when no occurrence is left to make (or cancelled).
    next_occurrence_at TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
-- The tick's search for series to extend.
CREATE INDEX publish_series_due ON publish_series (next_occurrence_at)
    WHERE next_occurrence_at IS NOT NULL;
-- An account's series.
CREATE INDEX publish_series_account ON publish_series (social_account_id, id);

-- The series a log was made for, and its occurrence (the local date-time the rule gives).
ALTER TABLE publish_logs ADD COLUMN series_id TEXT REFERENCES publish_series (id);
ALTER TABLE publish_logs ADD COLUMN occurrence TEXT;
-- Exactly one log per occurrence, however many ticks make it at once. A log cancelled because
-- its series' rule changed gives its occurrence up (occurrence NULL, series_id kept); one
-- cancelled by a person keeps it, so the occurrence is not made again.
CREATE UNIQUE INDEX publish_logs_series_occurrence ON publish_logs (series_id, occurrence);
