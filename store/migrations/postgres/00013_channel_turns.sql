-- +goose Up
-- A paced channel's next free turn to send, in microseconds since the
-- epoch, shared by every instance: a dispatcher books a turn by moving it
-- on by 1/messages_per_second (a token bucket with a burst of one, kept
-- as its next conforming time), so the limit holds across instances.
ALTER TABLE channels ADD COLUMN next_turn_us BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE channels DROP COLUMN next_turn_us;
