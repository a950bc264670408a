-- Index entries now carry prefix tokens and only the year and month markers
-- (diwan_domain::search): entries made before are dropped, and the application indexes those
-- correspondences again when it starts, as it does for any correspondence without an entry.
DELETE FROM search_fts;
DELETE FROM search_docs;
