-- GET /ledger/events?event_type= reads the type's newest events (ORDER BY seq DESC LIMIT n):
-- an index on (event_type, seq) reads them as one range. The index on (event_type, created_at)
-- it replaces served no query; with it, the planner walked the primary key backwards and
-- filtered, which for a type whose events are old read most of the table (2.8 s at 20,000,000
-- events: docs/benchmarks.md, "Session 15").
DROP INDEX ledger_events_event_type_created_at;
CREATE INDEX ledger_events_event_type_seq ON ledger_events (event_type, seq);
