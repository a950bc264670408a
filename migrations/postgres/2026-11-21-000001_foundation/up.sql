-- Foundation: organisation, agents, tokens, registers and correspondences.
-- Ids are UUID text; times are RFC 3339 UTC text with microseconds (sortable as text);
-- JSON is text. The PostgreSQL tree has the same tables with the same column types.

CREATE TABLE administrations (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name_ar TEXT NOT NULL,
    name_fr TEXT NOT NULL
);

CREATE TABLE units (
    id TEXT PRIMARY KEY NOT NULL,
    administration_id TEXT NOT NULL REFERENCES administrations (id),
    parent_id TEXT REFERENCES units (id),
    code TEXT NOT NULL UNIQUE,
    name_ar TEXT NOT NULL,
    name_fr TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('central', 'regional', 'provincial', 'local')),
    territory_code TEXT
);

CREATE TABLE registries (
    id TEXT PRIMARY KEY NOT NULL,
    unit_id TEXT NOT NULL REFERENCES units (id),
    code TEXT NOT NULL UNIQUE,
    name_ar TEXT NOT NULL,
    name_fr TEXT NOT NULL,
    numbering_format TEXT NOT NULL
);

CREATE TABLE agents (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT,
    active BOOLEAN NOT NULL,
    created_at TEXT NOT NULL
);

-- The id is "agent:unit-or-*:role", which makes a grant unique even when unit_id is NULL.
CREATE TABLE agent_grants (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL REFERENCES agents (id),
    unit_id TEXT REFERENCES units (id),
    role TEXT NOT NULL
);
CREATE INDEX agent_grants_agent ON agent_grants (agent_id);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    agent_id TEXT NOT NULL REFERENCES agents (id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX tokens_agent ON tokens (agent_id);

-- One row per register (registry x direction x year): the last number handed out.
CREATE TABLE register_counters (
    registry_id TEXT NOT NULL REFERENCES registries (id),
    direction TEXT NOT NULL,
    year INTEGER NOT NULL,
    last_seq BIGINT NOT NULL,
    PRIMARY KEY (registry_id, direction, year)
);

CREATE TABLE correspondences (
    id TEXT PRIMARY KEY NOT NULL,
    registry_id TEXT NOT NULL REFERENCES registries (id),
    direction TEXT NOT NULL,
    year INTEGER NOT NULL,
    seq BIGINT NOT NULL,
    registration_number TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    subject TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    recipient_name TEXT NOT NULL,
    confidentiality TEXT NOT NULL,
    priority TEXT NOT NULL,
    category TEXT,
    sender_reference TEXT,
    sender_date TEXT,
    received_at TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    registered_by TEXT NOT NULL REFERENCES agents (id),
    tracking_hash TEXT NOT NULL,
    search_text TEXT NOT NULL,
    annulled_at TEXT,
    annulled_by TEXT REFERENCES agents (id),
    annul_reason TEXT,
    UNIQUE (registry_id, direction, year, seq)
);
CREATE INDEX correspondences_page ON correspondences (registry_id, registered_at, id);
CREATE INDEX correspondences_tracking ON correspondences (tracking_hash);

CREATE TABLE correspondence_files (
    id TEXT PRIMARY KEY NOT NULL,
    correspondence_id TEXT NOT NULL REFERENCES correspondences (id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE INDEX correspondence_files_owner ON correspondence_files (correspondence_id);
CREATE INDEX correspondence_files_sha256 ON correspondence_files (sha256);

CREATE TABLE correspondence_units (
    correspondence_id TEXT NOT NULL REFERENCES correspondences (id),
    unit_id TEXT NOT NULL REFERENCES units (id),
    concern TEXT NOT NULL,
    PRIMARY KEY (correspondence_id, unit_id, concern)
);
CREATE INDEX correspondence_units_unit ON correspondence_units (unit_id);

CREATE TABLE correspondence_events (
    id TEXT PRIMARY KEY NOT NULL,
    correspondence_id TEXT NOT NULL REFERENCES correspondences (id),
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor_id TEXT REFERENCES agents (id),
    detail TEXT NOT NULL
);
CREATE INDEX correspondence_events_owner ON correspondence_events (correspondence_id, at);
