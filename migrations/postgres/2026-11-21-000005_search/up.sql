-- Full-text search: the text extracted from documents (PDF text layer, OCR), and the index.
--
-- The index holds, per correspondence, the document `diwan_domain::search` builds: normalised
-- words (letters and digits only) and markers, separated by single spaces, stored as they are
-- with array_to_tsvector (no parser, no dictionary), so the lexemes are exactly the words the
-- application made; SQLite's tree indexes the same words with FTS5. Rows registered before
-- this migration are indexed by the application when it starts.

CREATE TABLE document_texts (
    correspondence_id TEXT NOT NULL REFERENCES correspondences (id),
    file_sha256 TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('pdf', 'ocr', 'text')),
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (correspondence_id, file_sha256, source)
);

CREATE TABLE search_docs (
    correspondence_id TEXT PRIMARY KEY NOT NULL REFERENCES correspondences (id),
    words TSVECTOR NOT NULL
);
CREATE INDEX search_docs_words ON search_docs USING gin (words);
