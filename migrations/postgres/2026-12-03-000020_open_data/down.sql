DROP TABLE open_data_cells;
DROP TABLE open_data_months;
