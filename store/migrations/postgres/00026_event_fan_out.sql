-- +goose Up
-- SQLite queues webhook deliveries by a trigger on events; PostgreSQL does
-- it in the statement that appends the events
-- (store/dialect_events_postgres.go). Nothing to change here.
SELECT 1;

-- +goose Down
SELECT 1;
