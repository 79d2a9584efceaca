-- +goose Up
-- Tags of one tagging type each (conversations.TagType), the tags on
-- each conversation now, and episodes: a conversation's stretches from
-- (re)opening to resolve or close, each keeping the final tag it closed
-- with. History of tagging is in conversation_events (tag_added,
-- tag_removed).
CREATE TABLE tags (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    name       TEXT   NOT NULL,
    -- name_key is the name folded for uniqueness ("Sale" and "sale" clash).
    name_key   TEXT   NOT NULL,
    type       TEXT   NOT NULL,
    archived   INTEGER NOT NULL DEFAULT 0,
    used       INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (account_id, name_key)
);

CREATE TABLE conversation_tags (
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    tag_id          INTEGER NOT NULL REFERENCES tags (id),
    applied_by      INTEGER REFERENCES users (id),
    applied_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, tag_id)
);
CREATE INDEX conversation_tags_tag ON conversation_tags (account_id, tag_id, conversation_id);

CREATE TABLE episodes (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    opened_at       INTEGER NOT NULL,
    closed_at       INTEGER,
    closed_as       TEXT,
    closed_by       INTEGER REFERENCES users (id),
    final_tag_id    INTEGER REFERENCES tags (id),
    final_tag_type  TEXT
);
CREATE INDEX episodes_conversation ON episodes (conversation_id, id);
-- At most one open episode per conversation.
CREATE UNIQUE INDEX episodes_open ON episodes (conversation_id) WHERE closed_at IS NULL;
CREATE INDEX episodes_closed ON episodes (account_id, closed_at) WHERE closed_at IS NOT NULL;

-- The final tag of the conversation's latest closed episode, kept in the
-- transaction that closes it: the inbox filters on it without a join.
ALTER TABLE conversations ADD COLUMN final_tag_id INTEGER REFERENCES tags (id);
ALTER TABLE conversations ADD COLUMN final_tag_type TEXT;

-- Every conversation that exists has one episode: open, or closed when
-- the conversation is resolved or closed (without a final tag).
INSERT INTO episodes (account_id, conversation_id, opened_at, closed_at, closed_as)
SELECT account_id, id, created_at,
       CASE WHEN status IN ('resolved', 'closed') THEN updated_at END,
       CASE WHEN status IN ('resolved', 'closed') THEN status END
FROM conversations;

-- +goose Down
ALTER TABLE conversations DROP COLUMN final_tag_type;
ALTER TABLE conversations DROP COLUMN final_tag_id;
DROP TABLE episodes;
DROP TABLE conversation_tags;
DROP TABLE tags;
