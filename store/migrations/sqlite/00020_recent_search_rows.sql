-- +goose Up
-- PostgreSQL records how many conversations its recent search index covers in this version;
-- SQLite searches through FTS5. This file keeps both dialects at one
-- version.
SELECT 1;

-- +goose Down
SELECT 1;
