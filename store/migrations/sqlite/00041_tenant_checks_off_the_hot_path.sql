-- +goose Up
-- PostgreSQL's hot tables stop checking their account and channel
-- ids (shared rows locked by every insert's check); SQLite's checks
-- take no row locks, and dropping them would rebuild each table. This
-- file keeps both dialects at one version.
SELECT 1;

-- +goose Down
SELECT 1;
