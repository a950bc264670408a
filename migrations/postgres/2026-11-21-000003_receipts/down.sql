DROP TABLE mail_outbox;
DROP TABLE receipts;
DROP TABLE log_heads;
DROP TABLE log_leaves;
DROP TABLE log_state;
DROP TABLE pki_objects;
ALTER TABLE units DROP COLUMN contact;
