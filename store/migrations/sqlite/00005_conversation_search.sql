-- +goose Up
-- PostgreSQL gets a per-conversation search document in this version;
-- SQLite keeps searching its FTS5 tables (00004), which serve a single
-- instance's inbox well. This file keeps both dialects at one version.
SELECT 1;

-- +goose Down
SELECT 1;
