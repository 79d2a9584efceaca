-- +goose Up
-- Webhook delivery (events/deliver.go). A claim moves next_attempt_at to
-- the end of its lease, so a crashed instance's claims come due again;
-- claimed_at tells the claim that records an attempt from a later one,
-- and is cleared by the record: set, the delivery is in flight.
ALTER TABLE webhook_deliveries ADD COLUMN claimed_at INTEGER;
ALTER TABLE webhook_deliveries ADD COLUMN last_attempt_at INTEGER;

-- The delivery log keeps finished deliveries for a while (pruned by age).
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (created_at) WHERE state <> 'pending';

-- An endpoint disabled for failing tells the account's admins: a
-- notification that concerns an endpoint, not a conversation. SQLite
-- cannot drop NOT NULL in place, so the table is rebuilt.
CREATE TABLE notifications_new (
    id                   INTEGER PRIMARY KEY,
    account_id           INTEGER NOT NULL REFERENCES accounts (id),
    user_id              INTEGER NOT NULL REFERENCES users (id),
    kind                 TEXT    NOT NULL,
    conversation_id      INTEGER REFERENCES conversations (id),
    message_id           INTEGER,
    actor_id             INTEGER,
    read_at              INTEGER,
    created_at           INTEGER NOT NULL,
    webhook_endpoint_id  INTEGER REFERENCES webhook_endpoints (id) ON DELETE CASCADE
);
INSERT INTO notifications_new (id, account_id, user_id, kind, conversation_id, message_id, actor_id, read_at, created_at)
SELECT id, account_id, user_id, kind, conversation_id, message_id, actor_id, read_at, created_at FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE INDEX notifications_user ON notifications (user_id, (CASE WHEN read_at IS NULL THEN 0 ELSE 1 END), id DESC);

-- +goose Down
DELETE FROM notifications WHERE conversation_id IS NULL;
CREATE TABLE notifications_old (
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
INSERT INTO notifications_old SELECT id, account_id, user_id, kind, conversation_id, message_id, actor_id, read_at, created_at FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_old RENAME TO notifications;
CREATE INDEX notifications_user ON notifications (user_id, (CASE WHEN read_at IS NULL THEN 0 ELSE 1 END), id DESC);
DROP INDEX webhook_deliveries_finished;
ALTER TABLE webhook_deliveries DROP COLUMN last_attempt_at;
ALTER TABLE webhook_deliveries DROP COLUMN claimed_at;
