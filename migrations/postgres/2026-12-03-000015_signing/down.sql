DROP TABLE signing_sessions;
