-- +goose Up
-- The queues (rows deleted as they are served) end with empty pages
-- after every burst, and VACUUM then tries to give those pages back:
-- it needs the table's ACCESS EXCLUSIVE lock, which every writer's
-- insert conflicts with, so it retried for up to 5 s each time and,
-- when it got the lock, held up every transaction touching the queue.
-- The pages are refilled in seconds; they are kept.
ALTER TABLE outbox SET (vacuum_truncate = false);
ALTER TABLE status_checks SET (vacuum_truncate = false);
ALTER TABLE campaign_count_changes SET (vacuum_truncate = false);
ALTER TABLE early_statuses SET (vacuum_truncate = false);
ALTER TABLE webhook_deliveries SET (vacuum_truncate = false);

-- +goose Down
ALTER TABLE webhook_deliveries RESET (vacuum_truncate);
ALTER TABLE early_statuses RESET (vacuum_truncate);
ALTER TABLE campaign_count_changes RESET (vacuum_truncate);
ALTER TABLE status_checks RESET (vacuum_truncate);
ALTER TABLE outbox RESET (vacuum_truncate);
