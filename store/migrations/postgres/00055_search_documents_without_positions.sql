-- +goose Up
-- A conversation's search document keeps its words without their
-- positions (strip): search has no phrases and no ranking, so nothing
-- reads them, and they doubled a long thread's document. Past about 150
-- distinct words the document went out of line (TOAST), read from there
-- by every row the recency window checks and written there again by
-- every text bringing a word (docs/PERFORMANCE.md). The writers in
-- store/ strip the same way; a document written before this version
-- loses its positions with its thread's next text.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION parley_conversation_search_init() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_tsv := strip(to_tsvector('simple', COALESCE((SELECT name FROM contacts WHERE id = NEW.contact_id), ''))
        || NEW.search_tsv);
    RETURN NEW;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION parley_conversation_search_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversations SET search_tsv = strip(search_tsv || to_tsvector('simple', NEW.body))
    WHERE id = NEW.conversation_id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION parley_conversation_search_rename() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversations cv SET search_tsv = strip(to_tsvector('simple', NEW.name) || to_tsvector('simple', COALESCE(
        (SELECT string_agg(m.body, ' ') FROM messages m WHERE m.conversation_id = cv.id), '')))
    WHERE cv.contact_id = NEW.id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION parley_conversation_search_recontact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_tsv := strip(to_tsvector('simple', COALESCE((SELECT name FROM contacts WHERE id = NEW.contact_id), '')) ||
        to_tsvector('simple', COALESCE((SELECT string_agg(m.body, ' ') FROM messages m WHERE m.conversation_id = NEW.id), '')));
    RETURN NEW;
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION parley_conversation_search_init() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_tsv := to_tsvector('simple', COALESCE((SELECT name FROM contacts WHERE id = NEW.contact_id), ''))
        || NEW.search_tsv;
    RETURN NEW;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION parley_conversation_search_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversations SET search_tsv = search_tsv || to_tsvector('simple', NEW.body)
    WHERE id = NEW.conversation_id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION parley_conversation_search_rename() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversations cv SET search_tsv = to_tsvector('simple', NEW.name) || to_tsvector('simple', COALESCE(
        (SELECT string_agg(m.body, ' ') FROM messages m WHERE m.conversation_id = cv.id), ''))
    WHERE cv.contact_id = NEW.id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION parley_conversation_search_recontact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_tsv := to_tsvector('simple', COALESCE((SELECT name FROM contacts WHERE id = NEW.contact_id), '')) ||
        to_tsvector('simple', COALESCE((SELECT string_agg(m.body, ' ') FROM messages m WHERE m.conversation_id = NEW.id), ''));
    RETURN NEW;
END $$;
-- +goose StatementEnd
