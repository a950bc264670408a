-- For the indicators: the processing time (registration → first answer) rounded down to the
-- minute under a day and to the hour beyond, so that a period's times are summed up as a few
-- thousand (value, count) pairs whatever the number of letters; whether the answer came before
-- the legal deadline (1, 0; NULL when the deadline is not known); and the instant a letter
-- stopped being overdue or could no longer become so (the later of its end and its deadline).
ALTER TABLE correspondence_facts ADD COLUMN processing_seconds BIGINT;
ALTER TABLE correspondence_facts ADD COLUMN on_time INTEGER;
ALTER TABLE correspondence_facts ADD COLUMN resolved_at TEXT;
UPDATE correspondence_facts
SET processing_seconds = CASE WHEN FLOOR(EXTRACT(EPOCH FROM (answered_at::timestamptz - registered_at::timestamptz)))::bigint < 86400 THEN FLOOR(EXTRACT(EPOCH FROM (answered_at::timestamptz - registered_at::timestamptz)))::bigint / 60 * 60
                              ELSE FLOOR(EXTRACT(EPOCH FROM (answered_at::timestamptz - registered_at::timestamptz)))::bigint / 3600 * 3600 END,
    on_time = CASE WHEN legal_due_at IS NULL THEN NULL WHEN answered_at < legal_due_at THEN 1 ELSE 0 END
WHERE answered_at IS NOT NULL;
UPDATE correspondence_facts SET resolved_at = GREATEST(closed_at, legal_due_at)
WHERE closed_at IS NOT NULL AND legal_due_at IS NOT NULL;
DROP INDEX correspondence_facts_answered;
CREATE INDEX correspondence_facts_answered
    ON correspondence_facts (unit_id, direction, answered_at, processing_seconds, on_time);
CREATE INDEX correspondence_facts_due ON correspondence_facts (unit_id, direction, legal_due_at);
CREATE INDEX correspondence_facts_resolved ON correspondence_facts (unit_id, direction, resolved_at);

-- Running totals of the indicators per unit and UTC day, kept in the same transactions as
-- `correspondence_facts` (each change of a facts row subtracts what the old row counted and
-- adds what the new one counts). A period's counts are the whole UTC days inside it from
-- here, plus its partial days at the edges from `correspondence_facts`; counts "before the
-- end" (backlog, overdue) are sums over the days before it. Measures, for incoming mail unless
-- said: opened (registered), received (by channel and category, '' for none), sent (outgoing
-- registered), closed (stopped being open), due (legal deadline passed: the instant after its
-- day), resolved (the later of closed and due, when both are known).
CREATE TABLE indicator_days (
    unit_id TEXT NOT NULL REFERENCES units (id),
    measure TEXT NOT NULL,
    day TEXT NOT NULL,
    channel TEXT NOT NULL,
    category TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (unit_id, measure, day, channel, category)
);

-- What the rows already there count.
INSERT INTO indicator_days (unit_id, measure, day, channel, category, n)
SELECT unit_id, 'opened', substr(registered_at, 1, 10), '', '', COUNT(*)
FROM correspondence_facts WHERE direction = 'incoming' GROUP BY unit_id, substr(registered_at, 1, 10);
INSERT INTO indicator_days (unit_id, measure, day, channel, category, n)
SELECT unit_id, 'received', substr(registered_at, 1, 10), channel, COALESCE(category, ''), COUNT(*)
FROM correspondence_facts WHERE direction = 'incoming'
GROUP BY unit_id, substr(registered_at, 1, 10), channel, COALESCE(category, '');
INSERT INTO indicator_days (unit_id, measure, day, channel, category, n)
SELECT unit_id, 'sent', substr(registered_at, 1, 10), '', '', COUNT(*)
FROM correspondence_facts WHERE direction = 'outgoing' GROUP BY unit_id, substr(registered_at, 1, 10);
INSERT INTO indicator_days (unit_id, measure, day, channel, category, n)
SELECT unit_id, 'closed', substr(closed_at, 1, 10), '', '', COUNT(*)
FROM correspondence_facts WHERE direction = 'incoming' AND closed_at IS NOT NULL
GROUP BY unit_id, substr(closed_at, 1, 10);
INSERT INTO indicator_days (unit_id, measure, day, channel, category, n)
SELECT unit_id, 'due', substr(legal_due_at, 1, 10), '', '', COUNT(*)
FROM correspondence_facts WHERE direction = 'incoming' AND legal_due_at IS NOT NULL
GROUP BY unit_id, substr(legal_due_at, 1, 10);
INSERT INTO indicator_days (unit_id, measure, day, channel, category, n)
SELECT unit_id, 'resolved', substr(resolved_at, 1, 10), '', '', COUNT(*)
FROM correspondence_facts WHERE direction = 'incoming' AND resolved_at IS NOT NULL
GROUP BY unit_id, substr(resolved_at, 1, 10);
