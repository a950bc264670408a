-- The citizen portal: English names for searching services, the portal's own agent (who
-- registers what citizens deposit), and the one-time codes that confirm a depositor's e-mail.

ALTER TABLE administrations ADD COLUMN name_en TEXT;
ALTER TABLE units ADD COLUMN name_en TEXT;

-- Registers portal deposits. It has no password and is not active: nobody can log in as it.
INSERT INTO agents (id, email, display_name, password_hash, active, created_at)
VALUES ('00000000-0000-4000-8000-000000000001', 'portal@system.diwan.invalid',
        'Portail citoyen / البوابة', NULL, 0, '2026-11-21T00:00:00.000000Z');

-- A code sent to an e-mail address; only its hash (with the challenge id) is kept.
CREATE TABLE email_challenges (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    used_at TEXT
);
CREATE INDEX email_challenges_email ON email_challenges (email, created_at);
