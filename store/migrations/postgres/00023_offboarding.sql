-- +goose Up
-- An admin deactivates a departing user: their tokens stop working and
-- routing never picks them; the row stays for the history it is part of.
ALTER TABLE users ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;

-- When a token was last presented, kept to the minute (TokenUseDue).
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;

-- A token the operator chose (PARLEY_BOOTSTRAP_TOKEN, account create
-- --token) had its first 8 characters stored as its prefix, all of it when
-- shorter. Only generated tokens (prl_ and base32) keep theirs; the others
-- get the fingerprint TokenSecretFrom gives them now.
UPDATE api_tokens SET prefix = 'sha256:' || substr(token_hash, 1, 8)
WHERE prefix !~ '^prl_[a-z2-7]{4}$';

-- +goose Down
-- The prefixes it replaced are gone for good: nothing to undo.
ALTER TABLE api_tokens DROP COLUMN last_used_at;
ALTER TABLE users DROP COLUMN active;
