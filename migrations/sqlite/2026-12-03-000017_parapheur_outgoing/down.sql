DELETE FROM agents WHERE id = '00000000-0000-4000-8000-000000000003';
ALTER TABLE parapheur_documents DROP COLUMN correspondence_id;
ALTER TABLE parapheur_documents DROP COLUMN registration_number;
ALTER TABLE parapheur_documents DROP COLUMN reserved_seq;
ALTER TABLE parapheur_documents DROP COLUMN reserved_year;
ALTER TABLE parapheur_documents DROP COLUMN registry_id;
ALTER TABLE parapheur_documents DROP COLUMN outgoing;
