DROP TABLE search_fts;
DROP TABLE search_docs;
DROP TABLE document_texts;
