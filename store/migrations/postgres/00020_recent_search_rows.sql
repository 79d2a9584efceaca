-- +goose Up
-- How many conversations the recent search index covered when it was
-- built, for a search to estimate how many of its matches it holds
-- (recentFallsShort in store/conversations.go). A partial GIN index's
-- reltuples does not tell: after a build it counts entries, after VACUUM
-- the whole table. 0 until the next build: no estimate.
ALTER TABLE search_recent ADD COLUMN covered bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE search_recent DROP COLUMN covered;
