-- +goose Up
-- PostgreSQL keeps a table of search words for its prefix searches in this
-- version; SQLite's FTS5 indexes prefixes themselves. This file keeps both
-- dialects at one version.
SELECT 1;

-- +goose Down
SELECT 1;
