-- +goose Up
-- Staff sign in to the web inbox with a password (bcrypt; NULL until set).
ALTER TABLE users ADD COLUMN password_hash TEXT;

-- One-time links that let a new user choose a password; only hashes kept.
CREATE TABLE password_links (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    link_hash   TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);

-- A signed-in browser. The cookie holds the secret; only its hash is kept.
CREATE TABLE web_sessions (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    secret_hash  TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX web_sessions_user ON web_sessions (user_id) WHERE revoked_at IS NULL;

-- +goose Down
DROP TABLE web_sessions;
DROP TABLE password_links;
ALTER TABLE users DROP COLUMN password_hash;
