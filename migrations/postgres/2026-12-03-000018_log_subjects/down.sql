DELETE FROM log_leaves WHERE document_id IS NOT NULL;
DROP INDEX log_leaves_document;
ALTER TABLE log_leaves DROP CONSTRAINT log_leaves_one_subject;
ALTER TABLE log_leaves DROP COLUMN parapheur_event_id;
ALTER TABLE log_leaves DROP COLUMN document_id;
ALTER TABLE log_leaves ALTER COLUMN event_id SET NOT NULL;
ALTER TABLE log_leaves ALTER COLUMN correspondence_id SET NOT NULL;
