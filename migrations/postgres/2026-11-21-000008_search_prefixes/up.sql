-- Index entries now carry prefix tokens and only the year and month markers
-- (diwan_domain::search): entries made before are dropped, and the application indexes those
-- correspondences again when it starts, as it does for any correspondence without an entry.
DELETE FROM search_docs;

-- New entries wait in the GIN index's pending list until it is merged into the tree, and every
-- search reads that whole list: with the default 4 MB, an absent word took 20 ms at a million
-- letters. A 256 kB list keeps that read short; the registration that fills it merges it.
ALTER INDEX search_docs_words SET (gin_pending_list_limit = 256);
