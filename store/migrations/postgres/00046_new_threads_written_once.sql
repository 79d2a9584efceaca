-- +goose Up
-- SQLite's trigger that gave a new conversation its waiting_since changes
-- (a second write of the row); PostgreSQL's sets it before the insert,
-- already once. This file keeps both dialects at one version.
SELECT 1;

-- +goose Down
SELECT 1;
