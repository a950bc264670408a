-- Replies: an outgoing correspondence may answer an incoming one.
ALTER TABLE correspondences ADD COLUMN in_reply_to TEXT REFERENCES correspondences (id);
CREATE INDEX correspondences_replies ON correspondences (in_reply_to) WHERE in_reply_to IS NOT NULL;
-- mail_outbox.receipt_kind now names any kind of e-mail: receipt, annulment, answered.
