-- +goose Up
-- A sent text is rewritten by its receipts (sent, then delivered), which
-- change no indexed column: with room on the page of the version it
-- replaces, PostgreSQL writes the new one there (HOT) and adds no index
-- entries, and pruning frees the old one without VACUUM. Pages filled to
-- the brim left no room, so every receipt added an entry to each index
-- and VACUUM's index passes removed them again. Pages written from now on
-- keep 30% for these versions (docs/PERFORMANCE.md, "The search words
-- sampled when the table doubles, texts room for their receipts").
ALTER TABLE messages SET (fillfactor = 70);

-- +goose Down
ALTER TABLE messages RESET (fillfactor);
