-- Routing rules of a registry, applied in order to each incoming letter it registers; the
-- first whose conditions all hold assigns the letter. conditions: JSON (category,
-- recipient_unit, sender_territory, keywords). target_unit_id NULL: the unit whose territory
-- is the sender's.
CREATE TABLE routing_rules (
    id TEXT PRIMARY KEY NOT NULL,
    registry_id TEXT NOT NULL REFERENCES registries (id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    conditions TEXT NOT NULL,
    target_unit_id TEXT REFERENCES units (id),
    active BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES agents (id)
);
CREATE INDEX routing_rules_registry ON routing_rules (registry_id, position);
