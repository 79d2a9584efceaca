-- +goose Up
-- A token the operator chose (PARLEY_BOOTSTRAP_TOKEN, account create
-- --token) had its first 8 characters stored as its prefix, all of it when
-- shorter. Only generated tokens (prl_ and base32) keep theirs; the others
-- get the fingerprint TokenSecretFrom gives them now.
UPDATE api_tokens SET prefix = 'sha256:' || substr(token_hash, 1, 8)
WHERE prefix !~ '^prl_[a-z2-7]{4}$';

-- +goose Down
-- The prefixes it replaced are gone for good: nothing to undo.
