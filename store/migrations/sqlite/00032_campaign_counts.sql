-- +goose Up
-- A campaign's counts kept in its row; see the PostgreSQL migration for
-- the design. SQLite has no statement-level triggers: a row per
-- recipient moved, folded as there.
ALTER TABLE campaigns ADD COLUMN count_recipients INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN count_queued INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN count_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN count_delivered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN count_failed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN count_skipped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN count_cancelled INTEGER NOT NULL DEFAULT 0;

-- moved recipients went from (from_recipient, from_message) to
-- (to_recipient, to_message); '' is no status (a new recipient, no text).
CREATE TABLE campaign_count_changes (
    campaign_id    INTEGER NOT NULL,
    moved          INTEGER NOT NULL,
    from_recipient TEXT    NOT NULL,
    from_message   TEXT    NOT NULL,
    to_recipient   TEXT    NOT NULL,
    to_message     TEXT    NOT NULL
);
CREATE INDEX campaign_count_changes_campaign ON campaign_count_changes (campaign_id);

-- +goose StatementBegin
CREATE TRIGGER campaign_recipients_joined AFTER INSERT ON campaign_recipients
BEGIN
    INSERT INTO campaign_count_changes VALUES (NEW.campaign_id, 1, '', '', NEW.status,
        COALESCE((SELECT status FROM messages WHERE id = NEW.message_id), ''));
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER campaign_recipients_moved AFTER UPDATE OF status, message_id ON campaign_recipients
WHEN OLD.status <> NEW.status OR OLD.message_id IS NOT NEW.message_id
BEGIN
    INSERT INTO campaign_count_changes VALUES (NEW.campaign_id, 1,
        OLD.status, COALESCE((SELECT status FROM messages WHERE id = OLD.message_id), ''),
        NEW.status, COALESCE((SELECT status FROM messages WHERE id = NEW.message_id), ''));
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER messages_campaign_moved AFTER UPDATE OF status ON messages
WHEN NEW.campaign_id IS NOT NULL AND OLD.status <> NEW.status
BEGIN
    INSERT INTO campaign_count_changes
    SELECT r.campaign_id, 1, r.status, OLD.status, r.status, NEW.status
    FROM campaign_recipients r WHERE r.message_id = NEW.id;
END;
-- +goose StatementEnd

-- The recipients so far, as if each had just joined.
INSERT INTO campaign_count_changes
SELECT r.campaign_id, COUNT(*), '', '', r.status, COALESCE(m.status, '')
FROM campaign_recipients r LEFT JOIN messages m ON m.id = r.message_id
GROUP BY 1, 5, 6;

-- +goose Down
DROP TRIGGER messages_campaign_moved;
DROP TRIGGER campaign_recipients_moved;
DROP TRIGGER campaign_recipients_joined;
DROP TABLE campaign_count_changes;
ALTER TABLE campaigns DROP COLUMN count_cancelled;
ALTER TABLE campaigns DROP COLUMN count_skipped;
ALTER TABLE campaigns DROP COLUMN count_failed;
ALTER TABLE campaigns DROP COLUMN count_delivered;
ALTER TABLE campaigns DROP COLUMN count_sent;
ALTER TABLE campaigns DROP COLUMN count_queued;
ALTER TABLE campaigns DROP COLUMN count_recipients;
