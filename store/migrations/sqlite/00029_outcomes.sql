-- +goose Up
-- Business records from the account's CRM or billing system, their links
-- to conversations, the outcomes staff record and the suggestions Parley
-- raises (outcomes/). Amounts are whole minor units of their currency.
CREATE TABLE records (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    type         TEXT   NOT NULL,
    external_id  TEXT   NOT NULL,
    title        TEXT   NOT NULL,
    status       TEXT   NOT NULL DEFAULT '',
    amount_units INTEGER,
    currency     TEXT,
    url          TEXT   NOT NULL DEFAULT '',
    contact_id   INTEGER REFERENCES contacts (id),
    occurred_at  INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (account_id, type, external_id)
);
CREATE INDEX records_list ON records (account_id, id DESC);
CREATE INDEX records_type ON records (account_id, type, id DESC);
CREATE INDEX records_contact ON records (account_id, contact_id) WHERE contact_id IS NOT NULL;

CREATE TABLE conversation_links (
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    record_id       INTEGER NOT NULL REFERENCES records (id),
    created_by      INTEGER REFERENCES users (id),
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, record_id)
);
CREATE INDEX conversation_links_record ON conversation_links (record_id);

CREATE TABLE suggestions (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    type            TEXT   NOT NULL,
    record_id       INTEGER REFERENCES records (id),
    reason          TEXT   NOT NULL DEFAULT '',
    state           TEXT   NOT NULL DEFAULT 'pending',
    outcome_id      INTEGER,
    decided_by      INTEGER REFERENCES users (id),
    decided_at      INTEGER,
    created_at      INTEGER NOT NULL
);
-- One pending suggestion per (conversation, type, record).
CREATE UNIQUE INDEX suggestions_pending ON suggestions (conversation_id, type, COALESCE(record_id, 0)) WHERE state = 'pending';
CREATE INDEX suggestions_conversation ON suggestions (conversation_id, id);

CREATE TABLE outcomes (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    type            TEXT   NOT NULL,
    record_id       INTEGER REFERENCES records (id),
    notes           TEXT   NOT NULL DEFAULT '',
    metadata        TEXT   NOT NULL DEFAULT '{}',
    amount_units    INTEGER,
    currency        TEXT,
    source          TEXT   NOT NULL,
    suggestion_id   INTEGER REFERENCES suggestions (id),
    idempotency_key TEXT,
    created_by      INTEGER REFERENCES users (id),
    created_at      INTEGER NOT NULL,
    deleted_by      INTEGER REFERENCES users (id),
    deleted_at      INTEGER,
    -- Where the conversation stood when the outcome was recorded (its
    -- inbox and channel, and whether it began inbound, from a quick
    -- message or from a campaign): the report reads this table alone.
    inbox_id           INTEGER,
    channel_id         INTEGER,
    origin             TEXT NOT NULL DEFAULT 'inbound',
    origin_campaign_id INTEGER
);
CREATE UNIQUE INDEX outcomes_idempotency ON outcomes (account_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX outcomes_conversation ON outcomes (conversation_id, id);
-- Covers the outcomes report: a range of an account's live outcomes with
-- every column the report groups and sums.
CREATE INDEX outcomes_report ON outcomes (account_id, created_at, type, inbox_id, channel_id, origin, origin_campaign_id, currency, amount_units, conversation_id)
    WHERE deleted_at IS NULL;
-- The report's time to resolve reads status changes in the range.
CREATE INDEX conversation_events_type_time ON conversation_events (account_id, type, created_at);

-- The set of outcome types a conversation has (outcomes.Mask) and how
-- many records are linked to it, kept in the transactions that change
-- them: the inbox's indicator and filter read no other table.
ALTER TABLE conversations ADD COLUMN outcome_mask INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN links_count INTEGER NOT NULL DEFAULT 0;
-- The inbox filtered by outcome walks only conversations that have one.
CREATE INDEX conversations_with_outcomes ON conversations (account_id, last_message_at DESC, id DESC)
    WHERE outcome_mask <> 0;

-- +goose Down
DROP INDEX conversations_with_outcomes;
DROP INDEX conversation_events_type_time;
ALTER TABLE conversations DROP COLUMN links_count;
ALTER TABLE conversations DROP COLUMN outcome_mask;
DROP TABLE outcomes;
DROP TABLE suggestions;
DROP TABLE conversation_links;
DROP TABLE records;
