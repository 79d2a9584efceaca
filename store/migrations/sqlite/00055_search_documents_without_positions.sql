-- +goose Up
-- PostgreSQL's search documents lose their words' positions in this
-- version; SQLite's FTS5 tables (00004) are unchanged. This file keeps
-- both dialects at one version.
SELECT 1;

-- +goose Down
SELECT 1;
