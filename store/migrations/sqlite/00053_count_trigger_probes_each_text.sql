-- +goose Up
-- PostgreSQL's messages count trigger probes each moved text's recipient;
-- SQLite's triggers are row-level and already do. This file keeps both
-- dialects at one version.
SELECT 1;

-- +goose Down
SELECT 1;
