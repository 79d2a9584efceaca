-- +goose Up
-- Word statistics deep enough to tell a rare word (store/search.go,
-- fewMatches): with the default target ANALYZE lists only the words in
-- more than about 6% of 1M seeded conversations (55 of 66), so a word in
-- 886 of them could be in 60,000 for all a search knew. At 1000 it lists
-- the words in more than about 0.1%; ANALYZE of 1M conversations takes 7 s
-- instead of 1 s.
ALTER TABLE conversations ALTER COLUMN search_tsv SET STATISTICS 1000;
ANALYZE conversations;

-- +goose Down
ALTER TABLE conversations ALTER COLUMN search_tsv SET STATISTICS -1;
