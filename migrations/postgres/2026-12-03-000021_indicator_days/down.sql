DROP TABLE indicator_days;
DROP INDEX correspondence_facts_resolved;
DROP INDEX correspondence_facts_due;
DROP INDEX correspondence_facts_answered;
CREATE INDEX correspondence_facts_answered ON correspondence_facts (unit_id, direction, answered_at);
ALTER TABLE correspondence_facts DROP COLUMN resolved_at;
ALTER TABLE correspondence_facts DROP COLUMN on_time;
ALTER TABLE correspondence_facts DROP COLUMN processing_seconds;
