-- +goose Up
-- An account's numbers by account: an opt-out in an ingest batch locks
-- its phone's threads on each of them (lockConversationsQuery), and the
-- admin lists read them too. Without it both read every account's.
CREATE INDEX channels_account ON channels (account_id);

-- +goose Down
DROP INDEX channels_account;
