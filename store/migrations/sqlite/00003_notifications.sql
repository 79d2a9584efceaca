-- +goose Up
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    user_id         INTEGER NOT NULL REFERENCES users (id),
    kind            TEXT    NOT NULL,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    message_id      INTEGER,
    actor_id        INTEGER,
    read_at         INTEGER,
    created_at      INTEGER NOT NULL
);
-- GET /v1/notifications: a user's unread first, newest first.
CREATE INDEX notifications_user ON notifications (user_id, (CASE WHEN read_at IS NULL THEN 0 ELSE 1 END), id DESC);

-- Snooze wake-ups scan only snoozed conversations.
CREATE INDEX conversations_snoozed ON conversations (snoozed_until) WHERE status = 'snoozed';

-- +goose Down
DROP INDEX conversations_snoozed;
DROP TABLE notifications;
