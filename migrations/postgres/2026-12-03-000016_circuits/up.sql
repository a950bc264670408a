-- The parapheur's circuits: documents submitted for visas and signatures, their steps (stages
-- in order, the steps of one stage in parallel) and what happened to them.
CREATE TABLE circuit_templates (
    id TEXT PRIMARY KEY NOT NULL,
    administration_id TEXT NOT NULL REFERENCES administrations (id),
    document_type TEXT NOT NULL,
    name TEXT NOT NULL,
    -- JSON: [[{kind, agent?, unit?, role?}]], one array per stage.
    stages TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (administration_id, document_type)
);

CREATE TABLE parapheur_documents (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    document_type TEXT,
    administration_id TEXT NOT NULL REFERENCES administrations (id),
    submitted_by TEXT NOT NULL REFERENCES agents (id),
    submitted_at TEXT NOT NULL,
    -- in_circuit, rejected, completed
    status TEXT NOT NULL,
    file_name TEXT NOT NULL,
    -- The document as it is now (each signature is a new version), in the file store.
    current_sha256 TEXT NOT NULL,
    -- Bumped by every action: an action applies only to the version it read.
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX parapheur_documents_submitter ON parapheur_documents (submitted_by, submitted_at);

CREATE TABLE parapheur_steps (
    id TEXT PRIMARY KEY NOT NULL,
    document_id TEXT NOT NULL REFERENCES parapheur_documents (id),
    stage INTEGER NOT NULL,
    position INTEGER NOT NULL,
    -- visa, signature
    kind TEXT NOT NULL,
    -- For a named agent (after delegation), or for whoever holds `role` in `unit_id`.
    agent_id TEXT REFERENCES agents (id),
    unit_id TEXT REFERENCES units (id),
    role TEXT,
    -- waiting, pending, approved, signed, cancelled
    state TEXT NOT NULL,
    acted_by TEXT,
    acted_at TEXT,
    comment TEXT
);
CREATE INDEX parapheur_steps_document ON parapheur_steps (document_id, stage, position);
CREATE INDEX parapheur_steps_pending_agent ON parapheur_steps (agent_id) WHERE state = 'pending';
CREATE INDEX parapheur_steps_pending_unit ON parapheur_steps (unit_id, role) WHERE state = 'pending';

CREATE TABLE parapheur_events (
    id TEXT PRIMARY KEY NOT NULL,
    document_id TEXT NOT NULL REFERENCES parapheur_documents (id),
    at TEXT NOT NULL,
    actor_id TEXT NOT NULL REFERENCES agents (id),
    -- submitted, approved, signed, rejected, sent_back
    kind TEXT NOT NULL,
    -- JSON: the step, the comment or reason, the document version's SHA-256, delegation.
    detail TEXT NOT NULL
);
CREATE INDEX parapheur_events_document ON parapheur_events (document_id, at);
