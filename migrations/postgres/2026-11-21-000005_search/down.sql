DROP TABLE search_docs;
DROP TABLE document_texts;
