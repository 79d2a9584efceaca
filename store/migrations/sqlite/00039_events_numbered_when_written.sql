-- +goose Up
-- PostgreSQL's writers number their events as SQLite's always did; this
-- file keeps both dialects at one version.
SELECT 1;

-- +goose Down
SELECT 1;
