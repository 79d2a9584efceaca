-- +goose Up
-- PostgreSQL's autovacuum visits the queue tables more often from this
-- version; SQLite reuses deleted rows' space itself. This file keeps both
-- dialects at one version.
SELECT 1;

-- +goose Down
SELECT 1;
