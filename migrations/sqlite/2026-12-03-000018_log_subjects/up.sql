-- The register log also holds the parapheur's actions: an entry names either a correspondence
-- and one of its history lines, or a parapheur document and one of its history lines.
CREATE TABLE log_leaves_new (
    idx BIGINT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    correspondence_id TEXT REFERENCES correspondences (id),
    event_id TEXT UNIQUE REFERENCES correspondence_events (id),
    document_id TEXT REFERENCES parapheur_documents (id),
    parapheur_event_id TEXT UNIQUE REFERENCES parapheur_events (id),
    leaf_hash TEXT NOT NULL,
    CHECK (
        (correspondence_id IS NOT NULL AND event_id IS NOT NULL
            AND document_id IS NULL AND parapheur_event_id IS NULL)
        OR (correspondence_id IS NULL AND event_id IS NULL
            AND document_id IS NOT NULL AND parapheur_event_id IS NOT NULL)
    )
);
INSERT INTO log_leaves_new (idx, kind, correspondence_id, event_id, leaf_hash)
    SELECT idx, kind, correspondence_id, event_id, leaf_hash FROM log_leaves;
DROP TABLE log_leaves;
ALTER TABLE log_leaves_new RENAME TO log_leaves;
CREATE INDEX log_leaves_owner ON log_leaves (correspondence_id);
CREATE INDEX log_leaves_document ON log_leaves (document_id);
