-- +goose Up
-- PostgreSQL moves an inbound text's search words into updateOnInbound in
-- this version; SQLite's FTS5 tables (00004) keep their triggers. This file
-- keeps both dialects at one version.
SELECT 1;

-- +goose Down
SELECT 1;
