-- Reading the text of registered files in the background (PDF text, OCR), for search.
-- text_status: NULL while not read yet; then done, empty, skipped or failed.
ALTER TABLE correspondence_files ADD COLUMN text_status TEXT;
ALTER TABLE correspondence_files ADD COLUMN text_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE correspondence_files ADD COLUMN text_lease_until TEXT;
CREATE INDEX correspondence_files_text_pending ON correspondence_files (id) WHERE text_status IS NULL;
