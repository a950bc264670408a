-- Open data: the aggregates published for each closed month, frozen when first published so
-- that two publications of the same month never differ (a difference would be a count).
-- Raw figures are kept; the small-count threshold is applied when they are served.
CREATE TABLE open_data_months (
    month TEXT PRIMARY KEY NOT NULL,
    published_at TEXT NOT NULL
);
-- One cell per administration × category × channel with incoming mail registered or answered
-- in the month. category '' means none or not a configured category.
CREATE TABLE open_data_cells (
    month TEXT NOT NULL REFERENCES open_data_months (month),
    administration_id TEXT NOT NULL REFERENCES administrations (id),
    category TEXT NOT NULL,
    channel TEXT NOT NULL,
    received BIGINT NOT NULL,
    answered BIGINT NOT NULL,
    median_delay_seconds BIGINT,
    deadline_known BIGINT NOT NULL,
    on_time BIGINT NOT NULL,
    PRIMARY KEY (month, administration_id, category, channel)
);
