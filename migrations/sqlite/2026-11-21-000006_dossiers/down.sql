DROP TABLE dossiers;
ALTER TABLE correspondence_files DROP COLUMN pdf_problems;
ALTER TABLE correspondence_files DROP COLUMN pdf_pages;
