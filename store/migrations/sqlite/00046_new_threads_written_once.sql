-- +goose Up
-- A new conversation's waiting_since is its creation time. The insert
-- now says so itself, and the trigger rewrites only a row inserted
-- without it: every new thread was written twice, the second time with
-- its index entries moved (a campaign's texts create one each).
DROP TRIGGER conversations_waiting_insert;
-- +goose StatementBegin
CREATE TRIGGER conversations_waiting_insert AFTER INSERT ON conversations
WHEN NEW.waiting_since IS NOT NEW.created_at
BEGIN
    UPDATE conversations SET waiting_since = NEW.created_at WHERE id = NEW.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER conversations_waiting_insert;
-- +goose StatementBegin
CREATE TRIGGER conversations_waiting_insert AFTER INSERT ON conversations BEGIN
    UPDATE conversations SET waiting_since = NEW.created_at WHERE id = NEW.id;
END;
-- +goose StatementEnd
