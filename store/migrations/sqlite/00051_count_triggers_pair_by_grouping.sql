-- +goose Up
-- PostgreSQL's statement-level count triggers pair old and new rows by
-- grouping; SQLite's are row-level and pair nothing. This file keeps both
-- dialects at one version.
SELECT 1;

-- +goose Down
SELECT 1;
