DROP TABLE blob_packs;
