-- +goose Up
-- PostgreSQL's new conversations add their search words once a
-- statement; SQLite keeps no word list. This file keeps both dialects at
-- one version.
SELECT 1;

-- +goose Down
SELECT 1;
