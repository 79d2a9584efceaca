-- +goose Up
-- Every word of every search document, so that a search can turn its
-- last term, a prefix ("hopper:*"), into the whole words it stands for
-- ('hopper' | 'hoppers'). GIN reads a prefix's posting lists into a bitmap
-- before it can intersect them with the other terms' (20 ms for a word in
-- 6% of 1M conversations); whole words it intersects as it reads, skipping
-- (5 ms). See prefixWords in store/search.go.
--
-- The trigger adds a document's new words in the transaction that writes
-- the document, so a committed document's words are always here. Words are
-- never removed: an extra word only costs a lookup that finds nothing.
-- There is no unique index on purpose: an INSERT … ON CONFLICT would wait
-- for a concurrent transaction that added the same new word and could
-- deadlock with it over the conversation rows both lock; NOT EXISTS never
-- waits, and the rare duplicate it lets in is harmless (the lookup takes
-- DISTINCT words). C collation: the words sort byte by byte, as GIN's
-- prefix match compares them, so a prefix is an index range.
CREATE TABLE search_words (word text COLLATE "C" NOT NULL);
CREATE INDEX search_words_word ON search_words (word);

INSERT INTO search_words (word) SELECT word FROM ts_stat('SELECT search_tsv FROM conversations');

-- +goose StatementBegin
CREATE FUNCTION parley_search_words_add() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    fresh tsvector := NEW.search_tsv;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- Only the words the document did not have yet.
        fresh := ts_delete(fresh, tsvector_to_array(OLD.search_tsv));
    END IF;
    IF fresh <> ''::tsvector THEN
        INSERT INTO search_words (word)
        SELECT w FROM unnest(tsvector_to_array(fresh)) w
        WHERE NOT EXISTS (SELECT 1 FROM search_words s WHERE s.word = w COLLATE "C");
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
-- contact_id: the recontact trigger (00006) rewrites search_tsv in a
-- BEFORE trigger, which UPDATE OF search_tsv alone would not see.
CREATE TRIGGER conversations_search_words AFTER INSERT OR UPDATE OF search_tsv, contact_id ON conversations
    FOR EACH ROW EXECUTE FUNCTION parley_search_words_add();

-- +goose Down
DROP TRIGGER conversations_search_words ON conversations;
DROP FUNCTION parley_search_words_add();
DROP TABLE search_words;
