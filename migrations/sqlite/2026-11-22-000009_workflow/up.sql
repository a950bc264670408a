-- Workflow: where each correspondence stands, and the units (or agents) assigned to it.
-- status: registered, assigned, in_progress, answered, closed, returned, annulled.
ALTER TABLE correspondences ADD COLUMN status TEXT NOT NULL DEFAULT 'registered';
UPDATE correspondences SET status = 'annulled' WHERE annulled_at IS NOT NULL;

-- One row per assignment. Exactly one open row for action while a unit is in charge;
-- any number for information or opinion. Ended rows stay: they are the assignment history.
-- event_id: the history line that made it; ended_event_id: the one that ended it.
CREATE TABLE assignments (
    id TEXT PRIMARY KEY NOT NULL,
    correspondence_id TEXT NOT NULL REFERENCES correspondences (id),
    unit_id TEXT NOT NULL REFERENCES units (id),
    agent_id TEXT REFERENCES agents (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('action', 'information', 'opinion')),
    instructions TEXT,
    due_date TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    assigned_by TEXT NOT NULL REFERENCES agents (id),
    event_id TEXT NOT NULL REFERENCES correspondence_events (id),
    ended_at TEXT,
    ended_event_id TEXT REFERENCES correspondence_events (id)
);
CREATE INDEX assignments_of ON assignments (correspondence_id);
CREATE INDEX assignments_event ON assignments (event_id);
-- A unit's inbox, by due date.
CREATE INDEX assignments_open_unit ON assignments (unit_id, due_date, id) WHERE ended_at IS NULL;
-- An agent's own inbox, by due date.
CREATE INDEX assignments_open_agent ON assignments (agent_id, due_date, id) WHERE ended_at IS NULL AND agent_id IS NOT NULL;
-- At most one open lead per correspondence, whatever happens concurrently.
CREATE UNIQUE INDEX assignments_one_lead ON assignments (correspondence_id) WHERE ended_at IS NULL AND purpose = 'action';
