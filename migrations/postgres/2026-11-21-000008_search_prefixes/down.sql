-- Entries in the newer form are dropped; the application indexes the correspondences again.
DELETE FROM search_docs;
ALTER INDEX search_docs_words RESET (gin_pending_list_limit);
