-- +goose Up
-- PostgreSQL keeps room on the outbox's pages for claims; SQLite has no
-- such setting. This file keeps both dialects at one version.
SELECT 1;

-- +goose Down
SELECT 1;
