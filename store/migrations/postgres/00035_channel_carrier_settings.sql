-- +goose Up
-- Carriers beside Twilio: the secret that checks a carrier's webhooks
-- where it is not the auth token (Telnyx's public key, Vonage's signature
-- secret, Bird's signing key, Bandwidth's basic-auth password), and the
-- carrier's other settings of a channel as a JSON object.
ALTER TABLE channels ADD COLUMN webhook_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN carrier_options TEXT NOT NULL DEFAULT '{}';
-- A receipt parked before its text's carrier id was recorded keeps
-- whether the carrier said the recipient unsubscribed.
ALTER TABLE early_statuses ADD COLUMN unsubscribed BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE early_statuses DROP COLUMN unsubscribed;
ALTER TABLE channels DROP COLUMN carrier_options;
ALTER TABLE channels DROP COLUMN webhook_secret;
