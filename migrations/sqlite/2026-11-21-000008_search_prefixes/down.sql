-- Entries in the newer form are dropped; the application indexes the correspondences again.
DELETE FROM search_fts;
DELETE FROM search_docs;
