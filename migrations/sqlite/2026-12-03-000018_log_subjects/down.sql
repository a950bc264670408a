DELETE FROM log_leaves WHERE document_id IS NOT NULL;
CREATE TABLE log_leaves_old (
    idx BIGINT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    correspondence_id TEXT NOT NULL REFERENCES correspondences (id),
    event_id TEXT NOT NULL UNIQUE REFERENCES correspondence_events (id),
    leaf_hash TEXT NOT NULL
);
INSERT INTO log_leaves_old SELECT idx, kind, correspondence_id, event_id, leaf_hash FROM log_leaves;
DROP TABLE log_leaves;
ALTER TABLE log_leaves_old RENAME TO log_leaves;
CREATE INDEX log_leaves_owner ON log_leaves (correspondence_id);
