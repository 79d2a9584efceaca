-- +goose Up
-- When a conversation last started waiting for an assignee: created, or
-- back to new/open without one (closed→new, reopened, unassigned, woken).
-- The backlog is served longest-waiting first by this, not by age: an old
-- conversation that comes back must queue behind those already waiting.
-- Triggers keep it, so every path that changes status or assignee does.
ALTER TABLE conversations ADD COLUMN waiting_since INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET waiting_since = updated_at;

-- +goose StatementBegin
CREATE TRIGGER conversations_waiting_insert AFTER INSERT ON conversations BEGIN
    UPDATE conversations SET waiting_since = NEW.created_at WHERE id = NEW.id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER conversations_waiting_update AFTER UPDATE OF status, assignee_id ON conversations
WHEN NEW.assignee_id IS NULL AND NEW.status IN ('new', 'open')
     AND (OLD.assignee_id IS NOT NULL OR OLD.status NOT IN ('new', 'open'))
BEGIN
    UPDATE conversations SET waiting_since = NEW.updated_at WHERE id = NEW.id;
END;
-- +goose StatementEnd

DROP INDEX conversations_waiting;
CREATE INDEX conversations_waiting ON conversations (waiting_since, id)
    WHERE assignee_id IS NULL AND status IN ('new', 'open');

-- A user's load (new+open conversations) counted from the index alone.
CREATE INDEX conversations_load ON conversations (account_id, assignee_id)
    WHERE status IN ('new', 'open');

-- +goose Down
DROP INDEX conversations_load;
DROP INDEX conversations_waiting;
CREATE INDEX conversations_waiting ON conversations (created_at, id)
    WHERE assignee_id IS NULL AND status IN ('new', 'open');
DROP TRIGGER conversations_waiting_update;
DROP TRIGGER conversations_waiting_insert;
ALTER TABLE conversations DROP COLUMN waiting_since;
