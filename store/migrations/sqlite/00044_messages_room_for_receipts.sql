-- +goose Up
-- PostgreSQL keeps room on the messages pages for receipts; SQLite has
-- no such setting. This file keeps both dialects at one version.
SELECT 1;

-- +goose Down
SELECT 1;
