-- What the indicators count: one row per live (not annulled) correspondence, written in its
-- registration's transaction and kept up to date by the moves (unit in charge, answered,
-- closed); removed when the registration is annulled. Times are UTC text like everywhere.
--   unit_id: the unit in charge (the lead assignment's), else the registry's unit.
--   legal_due_at: the first instant after the legal deadline's day (local), when known.
--   answered_at: the first reply; closed_at: when it stopped being open (answered or closed).
CREATE TABLE correspondence_facts (
    correspondence_id TEXT PRIMARY KEY NOT NULL REFERENCES correspondences (id),
    unit_id TEXT NOT NULL REFERENCES units (id),
    direction TEXT NOT NULL,
    channel TEXT NOT NULL,
    category TEXT,
    registered_at TEXT NOT NULL,
    legal_due_at TEXT,
    answered_at TEXT,
    closed_at TEXT
);
-- Each count the indicators make is one range of one of these (covering) indexes.
CREATE INDEX correspondence_facts_registered
    ON correspondence_facts (unit_id, direction, registered_at, channel, category);
CREATE INDEX correspondence_facts_closed
    ON correspondence_facts (unit_id, direction, closed_at, legal_due_at);
CREATE INDEX correspondence_facts_answered
    ON correspondence_facts (unit_id, direction, answered_at);

-- Correspondences registered before: their legal deadline is not known here (NULL: counted
-- neither late nor on time).
INSERT INTO correspondence_facts
    (correspondence_id, unit_id, direction, channel, category, registered_at, legal_due_at, answered_at, closed_at)
SELECT c.id,
       CASE WHEN c.status IN ('registered', 'returned') THEN r.unit_id
            ELSE COALESCE((SELECT a.unit_id FROM assignments a
                           WHERE a.correspondence_id = c.id AND a.purpose = 'action'
                           ORDER BY a.assigned_at DESC, a.id DESC LIMIT 1), r.unit_id) END,
       c.direction, c.channel, c.category, c.registered_at, NULL,
       (SELECT MIN(e.at) FROM correspondence_events e WHERE e.correspondence_id = c.id AND e.kind = 'answered'),
       (SELECT MIN(e.at) FROM correspondence_events e WHERE e.correspondence_id = c.id AND e.kind IN ('answered', 'closed'))
FROM correspondences c JOIN registries r ON r.id = c.registry_id
WHERE c.annulled_at IS NULL;
