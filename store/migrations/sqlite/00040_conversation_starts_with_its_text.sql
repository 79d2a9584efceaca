-- +goose Up
-- PostgreSQL's conversations may be inserted with their first text's
-- search words; SQLite's FTS5 tables keep theirs by triggers. This file
-- keeps both dialects at one version.
SELECT 1;

-- +goose Down
SELECT 1;
