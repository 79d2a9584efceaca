-- +goose Up
-- When an outbox row's latest claim began. A row found still sending after
-- its lease expired was being sent by a process that died: the text may or
-- may not be at the carrier, created there no earlier than this. The
-- dispatcher looks for it in the carrier's list from then on before it
-- sends again. NULL until the first claim; rows claimed before this column
-- existed fall back to updated_at, which their claim set.
ALTER TABLE outbox ADD COLUMN claimed_at INTEGER;

-- +goose Down
ALTER TABLE outbox DROP COLUMN claimed_at;
