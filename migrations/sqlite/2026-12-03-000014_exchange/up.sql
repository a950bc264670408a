-- Exchange between administrations. One row per delivery of an outgoing letter (way 'out',
-- written in the letter's own registration transaction, so a crash cannot lose it) and one per
-- letter received by exchange (way 'in', written in the incoming registration's transaction:
-- the unique key makes an envelope sent twice register once).
CREATE TABLE exchanges (
    id TEXT PRIMARY KEY NOT NULL,
    correspondence_id TEXT NOT NULL REFERENCES correspondences (id),
    way TEXT NOT NULL CHECK (way IN ('out', 'in')),
    message_id TEXT NOT NULL,
    -- The other installation's name in [exchange] peers; '' for this installation.
    peer TEXT NOT NULL,
    -- The unit the letter is addressed to (here, or at the peer).
    unit_code TEXT NOT NULL,
    -- out: pending, sent, delivered, acknowledged, refused; in: received.
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT,
    lease_until TEXT,
    last_error TEXT,
    -- The signed envelope, made once (retries send the same bytes).
    envelope TEXT,
    -- The acknowledgement: the recipient registry's signed receipt (compact JWS).
    ack_jws TEXT,
    remote_number TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX exchanges_message ON exchanges (way, peer, message_id);
CREATE INDEX exchanges_correspondence ON exchanges (correspondence_id);
CREATE INDEX exchanges_due ON exchanges (next_attempt_at) WHERE way = 'out' AND state IN ('pending', 'sent');

-- Registers letters received by exchange. No password, not active: nobody can log in as it.
INSERT INTO agents (id, email, display_name, password_hash, active, created_at)
VALUES ('00000000-0000-4000-8000-000000000002', 'exchange@system.diwan.invalid',
        'Échange entre administrations / التبادل بين الإدارات', NULL, 0, '2026-12-03T00:00:00.000000Z');
