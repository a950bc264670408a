-- Documents Diwan can make again from what is durable (receipt PDFs) are appended to their
-- own pack segments under receipts/packs/, without waiting for the disk, instead of one file
-- each. A row may outlive the bytes it points to after a crash: reading checks the digest and
-- the document is made again. Apart from blob_packs, so that no upload is ever found stored
-- in a segment that was not synced.
CREATE TABLE made_packs (
    sha256 TEXT PRIMARY KEY NOT NULL,
    segment TEXT NOT NULL,
    pack_offset BIGINT NOT NULL,
    pack_length BIGINT NOT NULL
);
