-- +goose Up
-- PostgreSQL's events stop being vacuumed and analyzed as a queue; SQLite
-- keeps no such settings. This file keeps both dialects at one version.
SELECT 1;

-- +goose Down
SELECT 1;
