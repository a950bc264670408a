-- A document that becomes an outgoing letter: the registration it asks for, the number
-- reserved for it when its circuit reaches the last stage (taken from the register's counter
-- in the same transaction as that action, so it is never lost), and the registration made
-- with the signed document once the circuit is complete (or annulled if it is rejected).
ALTER TABLE parapheur_documents ADD COLUMN outgoing TEXT;
ALTER TABLE parapheur_documents ADD COLUMN registry_id TEXT REFERENCES registries (id);
ALTER TABLE parapheur_documents ADD COLUMN reserved_year INTEGER;
ALTER TABLE parapheur_documents ADD COLUMN reserved_seq BIGINT;
ALTER TABLE parapheur_documents ADD COLUMN registration_number TEXT;
ALTER TABLE parapheur_documents ADD COLUMN correspondence_id TEXT REFERENCES correspondences (id);

-- Registers the outgoing letters the parapheur produces. No password, not active.
INSERT INTO agents (id, email, display_name, password_hash, active, created_at)
VALUES ('00000000-0000-4000-8000-000000000003', 'parapheur@system.diwan.invalid',
        'Parapheur électronique / حامل التوقيعات', NULL, false, '2026-12-03T00:00:00.000000Z');
