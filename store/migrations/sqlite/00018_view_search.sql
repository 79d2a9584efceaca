-- +goose Up
-- PostgreSQL adds the search indexes of the inbox views in this version;
-- SQLite searches through FTS5. This file keeps both dialects at one
-- version.
SELECT 1;

-- +goose Down
SELECT 1;
