DROP INDEX correspondences_replies;
ALTER TABLE correspondences DROP COLUMN in_reply_to;
