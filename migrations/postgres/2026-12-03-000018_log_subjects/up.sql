-- The register log also holds the parapheur's actions: an entry names either a correspondence
-- and one of its history lines, or a parapheur document and one of its history lines.
ALTER TABLE log_leaves ALTER COLUMN correspondence_id DROP NOT NULL;
ALTER TABLE log_leaves ALTER COLUMN event_id DROP NOT NULL;
ALTER TABLE log_leaves ADD COLUMN document_id TEXT REFERENCES parapheur_documents (id);
ALTER TABLE log_leaves ADD COLUMN parapheur_event_id TEXT UNIQUE REFERENCES parapheur_events (id);
ALTER TABLE log_leaves ADD CONSTRAINT log_leaves_one_subject CHECK (
    (correspondence_id IS NOT NULL AND event_id IS NOT NULL
        AND document_id IS NULL AND parapheur_event_id IS NULL)
    OR (correspondence_id IS NULL AND event_id IS NULL
        AND document_id IS NOT NULL AND parapheur_event_id IS NOT NULL)
);
CREATE INDEX log_leaves_document ON log_leaves (document_id);
