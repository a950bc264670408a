-- Dossiers: what the inspection of a deposited PDF found, kept with the file; and the sealed
-- PDF/A dossier assembled for each registration.

-- Set for PDFs only: the page count (when the page tree could be read) and the problems found
-- at registration, a JSON array of {code, detail} (empty for a clean file).
ALTER TABLE correspondence_files ADD COLUMN pdf_pages INTEGER;
ALTER TABLE correspondence_files ADD COLUMN pdf_problems TEXT;

-- One dossier per registration, made after commit (or when first asked for) and stored as a
-- blob.
CREATE TABLE dossiers (
    correspondence_id TEXT PRIMARY KEY NOT NULL REFERENCES correspondences (id),
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    pages INTEGER NOT NULL,
    made_at TEXT NOT NULL
);
