-- +goose Up
CREATE TABLE routing_tables (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    name        TEXT    NOT NULL,
    is_default  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- At most one default table (for contacts without a type) per account.
CREATE UNIQUE INDEX routing_tables_default ON routing_tables (account_id) WHERE is_default;

CREATE TABLE routing_entries (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    table_id    INTEGER NOT NULL REFERENCES routing_tables (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    conditions  TEXT    NOT NULL,
    user_ids    TEXT    NOT NULL,
    strategy    TEXT    NOT NULL,
    capacity    INTEGER,
    rr_cursor   INTEGER NOT NULL DEFAULT 0, -- round-robin position, moved in the assigning transaction
    UNIQUE (table_id, position)
);

CREATE TABLE contact_types (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    name             TEXT    NOT NULL,
    relationship     TEXT    NOT NULL,
    routing_table_id INTEGER REFERENCES routing_tables (id),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (account_id, name)
);

-- The user a contact has for a relationship ("counselor"): sticky routing.
CREATE TABLE contact_relationships (
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    contact_id   INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    relationship TEXT    NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (contact_id, relationship)
);

-- The settings switch as a column, so the backlog sweep can skip accounts
-- that do not auto-assign without reading their settings.
ALTER TABLE accounts ADD COLUMN auto_assign BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE accounts SET auto_assign = COALESCE(json_extract(settings, '$.allow_auto_assignment'), 0);

-- Conversations waiting for an assignee, longest-waiting first.
CREATE INDEX conversations_waiting ON conversations (created_at, id)
    WHERE assignee_id IS NULL AND status IN ('new', 'open');

-- +goose Down
DROP INDEX conversations_waiting;
ALTER TABLE accounts DROP COLUMN auto_assign;
DROP TABLE contact_relationships;
DROP TABLE contact_types;
DROP TABLE routing_entries;
DROP TABLE routing_tables;
