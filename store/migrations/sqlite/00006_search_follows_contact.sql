-- +goose Up
-- PostgreSQL rebuilds a conversation's search document when it changes
-- contact; SQLite's FTS5 tables need nothing. Keeps the dialects at one version.
SELECT 1;

-- +goose Down
SELECT 1;
