-- +goose Up
-- Times are Unix milliseconds (UTC). Booleans are 0/1.

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    settings    TEXT    NOT NULL, -- JSON
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id                     INTEGER PRIMARY KEY,
    account_id             INTEGER NOT NULL REFERENCES accounts (id),
    email                  TEXT    NOT NULL,
    name                   TEXT    NOT NULL,
    role                   TEXT    NOT NULL CHECK (role IN ('admin', 'agent')),
    view_all_conversations BOOLEAN NOT NULL DEFAULT FALSE,
    available              BOOLEAN NOT NULL DEFAULT TRUE,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    UNIQUE (account_id, email)
);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    prefix      TEXT    NOT NULL,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE TABLE inboxes (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE channels (
    id                     INTEGER PRIMARY KEY,
    account_id             INTEGER NOT NULL REFERENCES accounts (id),
    inbox_id               INTEGER NOT NULL REFERENCES inboxes (id),
    carrier                TEXT    NOT NULL,
    phone_number           TEXT    NOT NULL DEFAULT '',
    messaging_service_sid  TEXT    NOT NULL DEFAULT '',
    carrier_account_id     TEXT    NOT NULL,
    auth_token             TEXT    NOT NULL,
    carrier_handles_optout BOOLEAN NOT NULL DEFAULT FALSE,
    created_at             INTEGER NOT NULL
);
-- A business number or service belongs to one channel of one account:
-- inbound lookups must be unambiguous.
CREATE UNIQUE INDEX channels_number ON channels (carrier, carrier_account_id, phone_number)
    WHERE messaging_service_sid = '';
CREATE UNIQUE INDEX channels_service ON channels (carrier, carrier_account_id, messaging_service_sid)
    WHERE messaging_service_sid <> '';

CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    name        TEXT    NOT NULL DEFAULT '',
    type        TEXT    NOT NULL DEFAULT '',
    attributes  TEXT    NOT NULL DEFAULT '{}', -- JSON object
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX contacts_account ON contacts (account_id, id);

-- A phone belongs to at most one contact of an account.
CREATE TABLE contact_phones (
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    phone       TEXT    NOT NULL,
    contact_id  INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    PRIMARY KEY (account_id, phone)
);
CREATE INDEX contact_phones_contact ON contact_phones (contact_id, position);

CREATE TABLE conversations (
    id                    INTEGER PRIMARY KEY,
    account_id            INTEGER NOT NULL REFERENCES accounts (id),
    channel_id            INTEGER NOT NULL REFERENCES channels (id),
    inbox_id              INTEGER NOT NULL REFERENCES inboxes (id),
    contact_id            INTEGER NOT NULL REFERENCES contacts (id),
    contact_phone         TEXT    NOT NULL,
    business_phone        TEXT    NOT NULL,
    status                TEXT    NOT NULL,
    priority              TEXT    NOT NULL DEFAULT 'none',
    assignee_id           INTEGER REFERENCES users (id),
    snoozed_until         INTEGER,
    revocation_flagged_at INTEGER,
    last_message_at       INTEGER NOT NULL,
    last_inbound_at       INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    UNIQUE (channel_id, contact_phone)
);
CREATE INDEX conversations_activity ON conversations (account_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_assignee ON conversations (account_id, assignee_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_contact ON conversations (account_id, contact_id);
CREATE INDEX conversations_phone ON conversations (account_id, contact_phone);

CREATE TABLE messages (
    id                 INTEGER PRIMARY KEY,
    account_id         INTEGER NOT NULL REFERENCES accounts (id),
    conversation_id    INTEGER NOT NULL REFERENCES conversations (id),
    channel_id         INTEGER NOT NULL REFERENCES channels (id),
    direction          TEXT    NOT NULL,
    kind               TEXT    NOT NULL,
    body               TEXT    NOT NULL,
    media_urls         TEXT    NOT NULL DEFAULT '[]', -- JSON array
    status             TEXT    NOT NULL,
    error_code         INTEGER,
    carrier_message_id TEXT,
    author_id          INTEGER REFERENCES users (id),
    campaign_id        INTEGER,
    segments           INTEGER NOT NULL DEFAULT 0,
    encoding           TEXT    NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
-- Idempotency: a carrier message id is stored once per channel. Leading
-- with the id also serves status callbacks, which know only the id.
CREATE UNIQUE INDEX messages_carrier_id ON messages (carrier_message_id, channel_id)
    WHERE carrier_message_id IS NOT NULL;
CREATE INDEX messages_conversation ON messages (conversation_id, id);

CREATE TABLE consents (
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    phone       TEXT    NOT NULL,
    opted_out   BOOLEAN NOT NULL,
    keyword     TEXT    NOT NULL DEFAULT '',
    message_id  INTEGER,
    changed_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, phone)
);

-- Append-only audit log of consent changes.
CREATE TABLE consent_events (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    phone       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    keyword     TEXT    NOT NULL DEFAULT '',
    message_id  INTEGER,
    user_id     INTEGER,
    detail      TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);
CREATE INDEX consent_events_phone ON consent_events (account_id, phone, id);

-- Append-only activity log of every conversation.
CREATE TABLE conversation_events (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    conversation_id  INTEGER NOT NULL REFERENCES conversations (id),
    type             TEXT    NOT NULL,
    actor_type       TEXT    NOT NULL,
    actor_id         INTEGER,
    data             TEXT    NOT NULL DEFAULT '{}', -- JSON object
    created_at       INTEGER NOT NULL
);
CREATE INDEX conversation_events_conversation ON conversation_events (conversation_id, id);

-- Outbound texts waiting for the carrier. A row lives until the carrier
-- has answered; the outcome is kept on the message.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    message_id       INTEGER NOT NULL UNIQUE REFERENCES messages (id),
    channel_id       INTEGER NOT NULL REFERENCES channels (id),
    to_phone         TEXT    NOT NULL,
    purpose          TEXT    NOT NULL,
    priority         INTEGER NOT NULL, -- lower goes first: replies before bulk
    state            TEXT    NOT NULL, -- queued | sending
    attempts         INTEGER NOT NULL DEFAULT 0,
    available_at     INTEGER NOT NULL,
    lease_expires_at INTEGER,
    last_error       TEXT    NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (priority, available_at, id);
