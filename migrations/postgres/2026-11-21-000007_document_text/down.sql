DROP INDEX correspondence_files_text_pending;
ALTER TABLE correspondence_files DROP COLUMN text_lease_until;
ALTER TABLE correspondence_files DROP COLUMN text_attempts;
ALTER TABLE correspondence_files DROP COLUMN text_status;
