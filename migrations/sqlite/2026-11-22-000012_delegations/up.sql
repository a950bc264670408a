-- Delegation: an agent names a substitute for a period (dates inclusive, in the installation's
-- time zone); meanwhile what would be handed to the agent goes to the substitute.
CREATE TABLE delegations (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL REFERENCES agents (id),
    substitute_id TEXT NOT NULL REFERENCES agents (id),
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX delegations_agent ON delegations (agent_id, starts_on);
CREATE INDEX delegations_substitute ON delegations (substitute_id);
