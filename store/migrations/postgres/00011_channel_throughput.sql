-- +goose Up
-- A sender's messages-per-second limit (Twilio: 1 for a US long code, 3
-- toll-free, 100 short code); 0: no limit from Parley, the carrier queues.
ALTER TABLE channels ADD COLUMN messages_per_second DOUBLE PRECISION NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE channels DROP COLUMN messages_per_second;
