-- Small files are appended to pack segments under blobs/packs/ instead of one file each.
-- A row is written in the same transaction as the correspondence that brought the content.
CREATE TABLE blob_packs (
    sha256 TEXT PRIMARY KEY NOT NULL,
    segment TEXT NOT NULL,
    pack_offset BIGINT NOT NULL,
    pack_length BIGINT NOT NULL
);
