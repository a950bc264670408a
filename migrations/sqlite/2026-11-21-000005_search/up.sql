-- Full-text search: the text extracted from documents (PDF text layer, OCR), and the index.
--
-- The index holds, per correspondence, the document `diwan_domain::search` builds: normalised
-- words (letters and digits only) and markers, separated by single spaces. The `ascii`
-- tokenizer splits it on those spaces and nothing else (every other character of it is a
-- token character), so the index sees exactly the words the application made; PostgreSQL's
-- tree stores the same words with array_to_tsvector. Rows registered before this migration
-- are indexed by the application when it starts.

CREATE TABLE document_texts (
    correspondence_id TEXT NOT NULL REFERENCES correspondences (id),
    file_sha256 TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('pdf', 'ocr', 'text')),
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (correspondence_id, file_sha256, source)
);

-- One row per indexed correspondence; `doc` is its rowid in search_fts.
CREATE TABLE search_docs (
    doc INTEGER PRIMARY KEY,
    correspondence_id TEXT NOT NULL UNIQUE REFERENCES correspondences (id)
);

-- Contentless (the words are not stored twice), rows replaceable, document-level detail only
-- (no phrase or proximity queries are asked of it).
CREATE VIRTUAL TABLE search_fts USING fts5(
    words,
    content = '',
    contentless_delete = 1,
    tokenize = 'ascii',
    detail = 'none'
);
