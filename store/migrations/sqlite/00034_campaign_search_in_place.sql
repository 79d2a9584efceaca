-- +goose Up
-- PostgreSQL moves a campaign text's search words into the queue's UPDATE
-- of its conversation in this version; SQLite's FTS5 tables (00004) keep
-- their triggers. This file keeps both dialects at one version.
SELECT 1;

-- +goose Down
SELECT 1;
