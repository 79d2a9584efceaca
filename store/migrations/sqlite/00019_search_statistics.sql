-- +goose Up
-- PostgreSQL keeps deeper statistics of the search words in this version;
-- SQLite searches through FTS5. This file keeps both dialects at one
-- version.
SELECT 1;

-- +goose Down
SELECT 1;
