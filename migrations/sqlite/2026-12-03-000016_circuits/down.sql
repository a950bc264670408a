DROP TABLE parapheur_events;
DROP TABLE parapheur_steps;
DROP TABLE parapheur_documents;
DROP TABLE circuit_templates;
