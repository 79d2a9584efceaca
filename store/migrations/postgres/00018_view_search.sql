-- +goose Up
-- Search within a view: its matches straight from GIN, not all the
-- account's matches read and then filtered (see hitsQuery in
-- store/conversations.go).
--
-- A search of two common words that rarely meet ('ada' & 'hopper': 6% of
-- 1M conversations each, 3,906 both) reads 3,812 table pages to keep an
-- agent's 49 of them (15 ms). GIN intersects the words' posting lists with
-- what else the query asks of the same index, before any page is read:
--
--   - conversations_search gets a second column, the assignee as a word
--     ('~25'; no search term can start with '~'), so that view=mine
--     intersects it too: 49 pages, 6.5 ms for the hits;
--   - the unassigned have a search index of their own (23% of
--     conversations): 872 pages, 4 ms. Through the assignee column the
--     unassigned are one long posting list to intersect (9 ms for GIN
--     alone).
--
-- PostgreSQL keeps both up to date as conversations are assigned; no
-- writer changes. Built at 1M conversations in 6.5 s and 2 s, in the
-- migration's transaction: writes to conversations wait for them.

-- +goose StatementBegin
CREATE FUNCTION conversation_assignee_word(assignee_id bigint) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT array_to_tsvector(ARRAY['~' || assignee_id::text]) $$;
-- +goose StatementEnd

CREATE INDEX conversations_search_view ON conversations USING GIN (search_tsv, conversation_assignee_word(assignee_id));
DROP INDEX conversations_search;
ALTER INDEX conversations_search_view RENAME TO conversations_search;
CREATE INDEX conversations_search_unassigned ON conversations USING GIN (search_tsv) WHERE assignee_id IS NULL;

-- +goose Down
DROP INDEX conversations_search_unassigned;
DROP INDEX conversations_search;
CREATE INDEX conversations_search ON conversations USING GIN (search_tsv);
DROP FUNCTION conversation_assignee_word(bigint);
