-- Remote signing: a document prepared for a signer whose key is held elsewhere (smart card,
-- token), waiting a quarter of an hour for the signature of its signed attributes. The
-- prepared PDF is in the file store under `prepared_sha256`, removed once completed.
CREATE TABLE signing_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL REFERENCES agents (id),
    prepared_sha256 TEXT NOT NULL,
    -- The four numbers of the signature's /ByteRange, comma-separated.
    byte_range TEXT NOT NULL,
    -- Hex SHA-256 of the bytes the byte range covers.
    content_digest TEXT NOT NULL,
    -- The serial of the certificate the document was prepared with.
    serial TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX signing_sessions_expiry ON signing_sessions (expires_at);
