-- Receipts: the installation's PKI, the tamper-evident register log, receipts and the
-- e-mail outbox.

-- How the public reaches a unit, printed on receipts.
ALTER TABLE units ADD COLUMN contact TEXT;

-- Certificates and their keys (encrypted with the master key). `slot` names the live one of
-- each role: 'root', 'issuing', 'log', 'seal:<registry id>'; replaced ones keep their row
-- under 'retired:<serial>' so that old receipts still name a known certificate.
CREATE TABLE pki_objects (
    slot TEXT PRIMARY KEY NOT NULL,
    role TEXT NOT NULL,
    registry_id TEXT REFERENCES registries (id),
    serial TEXT NOT NULL UNIQUE,
    certificate TEXT NOT NULL,
    chain TEXT NOT NULL,
    sealed_key TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- The log's right edge: one row. `frontier` is the hex of the perfect subtrees' roots.
CREATE TABLE log_state (
    id INTEGER PRIMARY KEY NOT NULL,
    size BIGINT NOT NULL,
    frontier TEXT NOT NULL
);
INSERT INTO log_state (id, size, frontier) VALUES (1, 0, '');

-- One row per log entry, in log order. `kind` is 'registration' or 'annulment'; the entry's
-- bytes are recomputed from the rows it names (see docs/ARCHITECTURE.md).
CREATE TABLE log_leaves (
    idx BIGINT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    correspondence_id TEXT NOT NULL REFERENCES correspondences (id),
    event_id TEXT NOT NULL UNIQUE REFERENCES correspondence_events (id),
    leaf_hash TEXT NOT NULL
);
CREATE INDEX log_leaves_owner ON log_leaves (correspondence_id);

-- Signed tree heads, one per committed batch.
CREATE TABLE log_heads (
    tree_size BIGINT PRIMARY KEY NOT NULL,
    root_hash TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    jws TEXT NOT NULL
);

-- Issued receipts ('receipt') and annulment notices ('annulment'), as signed JSON; the sealed
-- PDF is made after commit and stored as a blob.
CREATE TABLE receipts (
    correspondence_id TEXT NOT NULL REFERENCES correspondences (id),
    kind TEXT NOT NULL,
    leaf_index BIGINT NOT NULL,
    issued_at TEXT NOT NULL,
    jws TEXT NOT NULL,
    pdf_sha256 TEXT,
    PRIMARY KEY (correspondence_id, kind)
);
CREATE INDEX receipts_pending_pdf ON receipts (issued_at) WHERE pdf_sha256 IS NULL;

-- E-mails to send once their transaction has committed.
CREATE TABLE mail_outbox (
    id TEXT PRIMARY KEY NOT NULL,
    correspondence_id TEXT NOT NULL REFERENCES correspondences (id),
    receipt_kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    lease_until TEXT,
    last_error TEXT,
    sent_at TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
