-- +goose Up
-- Each campaign tick counts the campaign's texts overdue in the outbox
-- (backpressure), and its last tick whether any are left. Both joined
-- every outbox row to its message to read the campaign: up to two
-- ticks of texts (20,000 at 10,000/s) looked up each second while a fast
-- campaign lags. The outbox
-- row now carries its campaign, and the count reads one index. No
-- foreign key: the message's campaign_id has one, and an outbox row
-- lives only until its text is sent.
ALTER TABLE outbox ADD COLUMN campaign_id INTEGER;
UPDATE outbox SET campaign_id = (SELECT m.campaign_id FROM messages m WHERE m.id = outbox.message_id);
CREATE INDEX outbox_campaign ON outbox (campaign_id, available_at) WHERE campaign_id IS NOT NULL;

-- +goose Down
DROP INDEX IF EXISTS outbox_campaign;
ALTER TABLE outbox DROP COLUMN campaign_id;
