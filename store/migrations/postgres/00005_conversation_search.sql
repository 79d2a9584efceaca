-- +goose Up
-- One search document per conversation: its contact's name and every
-- message body. With the phone columns it puts every condition of the
-- inbox's q on the conversations table, so the planner can either combine
-- indexes (a rare word: GIN bitmap OR phone ranges) or walk the recency
-- index and filter rows cheaply (a common word), using the column's
-- statistics to choose. Triggers keep it current.
ALTER TABLE conversations ADD COLUMN search_tsv tsvector NOT NULL DEFAULT ''::tsvector;

UPDATE conversations cv SET search_tsv =
    to_tsvector('simple', ct.name) || to_tsvector('simple', COALESCE(
        (SELECT string_agg(m.body, ' ') FROM messages m WHERE m.conversation_id = cv.id), ''))
FROM contacts ct WHERE ct.id = cv.contact_id;

CREATE INDEX conversations_search ON conversations USING GIN (search_tsv);
-- The per-table indexes of 00004 are superseded: dropping them saves their
-- write cost on every message.
DROP INDEX messages_body_fts;
DROP INDEX contacts_name_fts;

-- +goose StatementBegin
CREATE FUNCTION parley_conversation_search_init() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_tsv := to_tsvector('simple', COALESCE((SELECT name FROM contacts WHERE id = NEW.contact_id), ''));
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER conversations_search_init BEFORE INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION parley_conversation_search_init();

-- +goose StatementBegin
CREATE FUNCTION parley_conversation_search_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversations SET search_tsv = search_tsv || to_tsvector('simple', NEW.body)
    WHERE id = NEW.conversation_id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER messages_search_add AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION parley_conversation_search_add();

-- A renamed contact: rebuild the documents of its conversations (rare).
-- +goose StatementBegin
CREATE FUNCTION parley_conversation_search_rename() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversations cv SET search_tsv = to_tsvector('simple', NEW.name) || to_tsvector('simple', COALESCE(
        (SELECT string_agg(m.body, ' ') FROM messages m WHERE m.conversation_id = cv.id), ''))
    WHERE cv.contact_id = NEW.id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER contacts_search_rename AFTER UPDATE OF name ON contacts
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION parley_conversation_search_rename();

-- +goose Down
DROP TRIGGER contacts_search_rename ON contacts;
DROP FUNCTION parley_conversation_search_rename();
DROP TRIGGER messages_search_add ON messages;
DROP FUNCTION parley_conversation_search_add();
DROP TRIGGER conversations_search_init ON conversations;
DROP FUNCTION parley_conversation_search_init();
CREATE INDEX contacts_name_fts ON contacts USING GIN (to_tsvector('simple', name));
CREATE INDEX messages_body_fts ON messages USING GIN (to_tsvector('simple', body));
DROP INDEX conversations_search;
ALTER TABLE conversations DROP COLUMN search_tsv;
