-- +goose Up
-- PostgreSQL records its recent-conversations search index in this
-- version; SQLite has none. This file keeps both dialects at one version.
SELECT 1;

-- +goose Down
SELECT 1;
