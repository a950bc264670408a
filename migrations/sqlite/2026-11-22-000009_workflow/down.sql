DROP TABLE assignments;
ALTER TABLE correspondences DROP COLUMN status;
