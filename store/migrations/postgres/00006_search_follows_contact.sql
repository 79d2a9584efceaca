-- +goose Up
-- A conversation that changes contact (its phone moved to another contact)
-- rebuilds its search document with the new contact's name.
-- +goose StatementBegin
CREATE FUNCTION parley_conversation_search_recontact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_tsv := to_tsvector('simple', COALESCE((SELECT name FROM contacts WHERE id = NEW.contact_id), '')) ||
        to_tsvector('simple', COALESCE((SELECT string_agg(m.body, ' ') FROM messages m WHERE m.conversation_id = NEW.id), ''));
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER conversations_search_recontact BEFORE UPDATE OF contact_id ON conversations
    FOR EACH ROW WHEN (OLD.contact_id IS DISTINCT FROM NEW.contact_id)
    EXECUTE FUNCTION parley_conversation_search_recontact();

-- +goose Down
DROP TRIGGER conversations_search_recontact ON conversations;
DROP FUNCTION parley_conversation_search_recontact();
