-- +goose Up
-- The cutoff of the partial GIN index over recently active conversations
-- (conversations_search_recent_<cutoff>; see RebuildRecentSearch in
-- store/recent_search.go). One row, or none before the first build.
CREATE TABLE search_recent (
    id       integer PRIMARY KEY CHECK (id = 1),
    cutoff   bigint NOT NULL,
    built_at bigint NOT NULL
);

-- +goose Down
DROP TABLE search_recent;
