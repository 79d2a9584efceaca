-- +goose Up
-- PostgreSQL moves a queued text's search words into the UPDATE of its
-- conversation in this version; SQLite's FTS5 tables (00004) keep their
-- triggers. This file keeps both dialects at one version.
SELECT 1;

-- +goose Down
SELECT 1;
