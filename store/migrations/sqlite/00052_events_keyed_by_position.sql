-- +goose Up
-- An event is named by its account and position, and stored in that
-- order (WITHOUT ROWID): one b-tree instead of the table's, its key's and
-- events_created. Pruning walks each account's oldest positions instead
-- of an index by age. The webhook fan-out trigger (00025) goes with the
-- old table and is made again as it was.
CREATE TABLE events_keyed (
    account_id       INTEGER NOT NULL,
    seq              INTEGER NOT NULL,
    type             TEXT   NOT NULL,
    conversation_id  INTEGER,
    subject_id       INTEGER,
    actor_type       TEXT   NOT NULL DEFAULT '',
    actor_id         INTEGER,
    data             TEXT NOT NULL DEFAULT '{}',
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (account_id, seq)
) WITHOUT ROWID;
INSERT INTO events_keyed (account_id, seq, type, conversation_id, subject_id, actor_type, actor_id, data, created_at)
SELECT account_id, seq, type, conversation_id, subject_id, actor_type, actor_id, data, created_at FROM events;
DROP TABLE events;
ALTER TABLE events_keyed RENAME TO events;
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
CREATE TABLE events_rowid (
    account_id       INTEGER NOT NULL,
    seq              INTEGER NOT NULL,
    type             TEXT   NOT NULL,
    conversation_id  INTEGER,
    subject_id       INTEGER,
    actor_type       TEXT   NOT NULL DEFAULT '',
    actor_id         INTEGER,
    data             TEXT NOT NULL DEFAULT '{}',
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (account_id, seq)
);
INSERT INTO events_rowid (account_id, seq, type, conversation_id, subject_id, actor_type, actor_id, data, created_at)
SELECT account_id, seq, type, conversation_id, subject_id, actor_type, actor_id, data, created_at FROM events;
DROP TABLE events;
ALTER TABLE events_rowid RENAME TO events;
CREATE INDEX events_created ON events (created_at);
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
