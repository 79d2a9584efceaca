-- +goose Up
-- When a conversation last started waiting for an assignee: created, or
-- back to new/open without one (closed→new, reopened, unassigned, woken).
-- The backlog is served longest-waiting first by this, not by age: an old
-- conversation that comes back must queue behind those already waiting.
-- A trigger keeps it, so every path that changes status or assignee does.
ALTER TABLE conversations ADD COLUMN waiting_since BIGINT NOT NULL DEFAULT 0;
UPDATE conversations SET waiting_since = updated_at;

-- +goose StatementBegin
CREATE FUNCTION parley_conversation_waiting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.waiting_since := NEW.created_at;
    ELSIF NEW.assignee_id IS NULL AND NEW.status IN ('new', 'open')
          AND (OLD.assignee_id IS NOT NULL OR OLD.status NOT IN ('new', 'open')) THEN
        NEW.waiting_since := NEW.updated_at;
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER conversations_waiting BEFORE INSERT OR UPDATE OF status, assignee_id ON conversations
    FOR EACH ROW EXECUTE FUNCTION parley_conversation_waiting();

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
DROP TRIGGER conversations_waiting ON conversations;
DROP FUNCTION parley_conversation_waiting();
ALTER TABLE conversations DROP COLUMN waiting_since;
