-- PostgreSQL only (how long values are stored); kept so both backends have the same migrations.
SELECT 1;
