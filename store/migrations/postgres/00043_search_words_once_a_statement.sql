-- +goose Up
-- A new conversation's words went into search_words by a trigger run
-- for each row: a campaign's tick inserts a thousand threads in one
-- statement, and ran the trigger (an INSERT with its lookups) a thousand
-- times, once a text. New threads now add their words once a statement,
-- from its transition table; an update still adds only the words the
-- document did not have, row by row (a trigger naming columns cannot see
-- a transition table). Still in the writer's transaction, so a committed
-- document's words are always here.
-- +goose StatementBegin
CREATE FUNCTION parley_search_words_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (word)
    SELECT DISTINCT w FROM new_rows n CROSS JOIN LATERAL unnest(tsvector_to_array(n.search_tsv)) w
    WHERE NOT EXISTS (SELECT 1 FROM search_words s WHERE s.word = w COLLATE "C");
    RETURN NULL;
END $$;
-- +goose StatementEnd
DROP TRIGGER conversations_search_words ON conversations;
CREATE TRIGGER conversations_search_words AFTER UPDATE OF search_tsv, contact_id ON conversations
    FOR EACH ROW EXECUTE FUNCTION parley_search_words_add();
CREATE TRIGGER conversations_search_words_inserted AFTER INSERT ON conversations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION parley_search_words_inserted();

-- +goose Down
DROP TRIGGER conversations_search_words_inserted ON conversations;
DROP TRIGGER conversations_search_words ON conversations;
CREATE TRIGGER conversations_search_words AFTER INSERT OR UPDATE OF search_tsv, contact_id ON conversations
    FOR EACH ROW EXECUTE FUNCTION parley_search_words_add();
DROP FUNCTION parley_search_words_inserted();
