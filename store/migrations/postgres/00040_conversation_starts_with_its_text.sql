-- +goose Up
-- A conversation the campaign queue creates is inserted with its first
-- text's words in search_tsv (campaign_queue.go) instead of being inserted
-- and then updated with them: each write of a conversation puts a row
-- version into every one of its indexes. The contact's name still comes
-- first, as it did when the words were appended by the update.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION parley_conversation_search_init() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_tsv := to_tsvector('simple', COALESCE((SELECT name FROM contacts WHERE id = NEW.contact_id), ''))
        || NEW.search_tsv;
    RETURN NEW;
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION parley_conversation_search_init() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_tsv := to_tsvector('simple', COALESCE((SELECT name FROM contacts WHERE id = NEW.contact_id), ''));
    RETURN NEW;
END $$;
-- +goose StatementEnd
