-- +goose Up
-- A disconnected channel keeps its history but no longer receives or
-- sends; its number or service may be connected again, by this account
-- or, once the carrier vouches for it, by another.
ALTER TABLE channels ADD COLUMN disconnected_at INTEGER;
DROP INDEX channels_number;
DROP INDEX channels_service;
CREATE UNIQUE INDEX channels_number ON channels (carrier, carrier_account_id, phone_number)
    WHERE messaging_service_sid = '' AND disconnected_at IS NULL;
CREATE UNIQUE INDEX channels_service ON channels (carrier, carrier_account_id, messaging_service_sid)
    WHERE messaging_service_sid <> '' AND disconnected_at IS NULL;

-- Why a text failed when no carrier code says it (channel_disconnected).
ALTER TABLE messages ADD COLUMN error_reason TEXT;

-- The channel whose credentials verified a receipt that came before its
-- text's carrier id was recorded: it is applied only to a text sent with
-- the same credentials.
ALTER TABLE early_statuses ADD COLUMN channel_id INTEGER;

-- A pace under the slowest a channel may have overflowed into no pacing.
UPDATE channels SET messages_per_second = 0.01 WHERE messages_per_second > 0 AND messages_per_second < 0.01;

-- +goose Down
ALTER TABLE early_statuses DROP COLUMN channel_id;
ALTER TABLE messages DROP COLUMN error_reason;
DROP INDEX channels_number;
DROP INDEX channels_service;
CREATE UNIQUE INDEX channels_number ON channels (carrier, carrier_account_id, phone_number)
    WHERE messaging_service_sid = '';
CREATE UNIQUE INDEX channels_service ON channels (carrier, carrier_account_id, messaging_service_sid)
    WHERE messaging_service_sid <> '';
ALTER TABLE channels DROP COLUMN disconnected_at;
