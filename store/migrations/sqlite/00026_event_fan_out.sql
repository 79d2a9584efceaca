-- +goose Up
-- Webhook deliveries are queued from the events as they are inserted
-- (store/dialect_events_sqlite.go): a trigger is parsed once with the
-- schema, a statement each time it runs.
-- +goose StatementBegin
CREATE TRIGGER events_fan_out AFTER INSERT ON events
WHEN EXISTS (SELECT 1 FROM webhook_subscriptions WHERE account_id = NEW.account_id AND type = NEW.type)
BEGIN
    INSERT INTO webhook_deliveries (account_id, endpoint_id, event_seq, event_type, next_attempt_at, created_at)
    SELECT NEW.account_id, s.endpoint_id, NEW.seq, NEW.type, NEW.created_at, NEW.created_at
    FROM webhook_subscriptions s JOIN webhook_endpoints ep ON ep.id = s.endpoint_id AND ep.disabled_at IS NULL
    WHERE s.account_id = NEW.account_id AND s.type = NEW.type;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER events_fan_out;
