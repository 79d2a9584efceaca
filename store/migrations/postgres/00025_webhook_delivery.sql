-- +goose Up
-- Webhook delivery (events/deliver.go). A claim moves next_attempt_at to
-- the end of its lease, so a crashed instance's claims come due again;
-- claimed_at tells the claim that records an attempt from a later one,
-- and is cleared by the record: set, the delivery is in flight.
ALTER TABLE webhook_deliveries ADD COLUMN claimed_at BIGINT;
ALTER TABLE webhook_deliveries ADD COLUMN last_attempt_at BIGINT;

-- The delivery log keeps finished deliveries for a while (pruned by age).
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (created_at) WHERE state <> 'pending';

-- An endpoint disabled for failing tells the account's admins: a
-- notification that concerns an endpoint, not a conversation.
ALTER TABLE notifications ALTER COLUMN conversation_id DROP NOT NULL;
ALTER TABLE notifications ADD COLUMN webhook_endpoint_id BIGINT REFERENCES webhook_endpoints (id) ON DELETE CASCADE;

-- +goose Down
DELETE FROM notifications WHERE conversation_id IS NULL;
ALTER TABLE notifications DROP COLUMN webhook_endpoint_id;
ALTER TABLE notifications ALTER COLUMN conversation_id SET NOT NULL;
DROP INDEX webhook_deliveries_finished;
ALTER TABLE webhook_deliveries DROP COLUMN last_attempt_at;
ALTER TABLE webhook_deliveries DROP COLUMN claimed_at;
