-- +goose Up
-- The account event log (events/). Every change writes its events in its
-- own transaction; seq numbers an account's events 1, 2, 3… in commit
-- order: the head is taken last in the transaction and held to commit.
CREATE TABLE event_heads (
    account_id  INTEGER PRIMARY KEY,
    seq         INTEGER NOT NULL
);

CREATE TABLE events (
    account_id       INTEGER NOT NULL,
    seq              INTEGER NOT NULL,
    type             TEXT   NOT NULL,
    conversation_id  INTEGER,
    subject_id       INTEGER,
    actor_type       TEXT   NOT NULL DEFAULT '',
    actor_id         INTEGER,
    data             TEXT NOT NULL DEFAULT '{}',
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (account_id, seq)
);
-- Pruning deletes by age (PARLEY_EVENT_RETENTION).
CREATE INDEX events_created ON events (created_at);

-- Outbound webhooks: an admin's endpoints, the event types each takes,
-- and one delivery per (endpoint, event), claimed like the outbox.
CREATE TABLE webhook_endpoints (
    id                   INTEGER PRIMARY KEY,
    account_id           INTEGER NOT NULL REFERENCES accounts (id),
    url                  TEXT   NOT NULL,
    description          TEXT   NOT NULL DEFAULT '',
    secret               TEXT   NOT NULL,
    -- During a rotation the old secret signs too, until it expires.
    previous_secret      TEXT,
    previous_expires_at  INTEGER,
    disabled_at          INTEGER,
    disabled_reason      TEXT   NOT NULL DEFAULT '',
    -- Set by the first failure after a success; a success clears it.
    failing_since        INTEGER,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id, id);

CREATE TABLE webhook_subscriptions (
    account_id   INTEGER NOT NULL,
    type         TEXT   NOT NULL,
    endpoint_id  INTEGER NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, type, endpoint_id)
);

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL,
    endpoint_id      INTEGER NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_seq        INTEGER NOT NULL,
    event_type       TEXT   NOT NULL,
    -- pending until delivered (succeeded) or given up (failed).
    state            TEXT   NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    -- The body is rendered at the first attempt and sent unchanged after.
    body             TEXT,
    last_status      INTEGER,
    last_latency_ms  INTEGER,
    last_error       TEXT   NOT NULL DEFAULT '',
    last_excerpt     TEXT   NOT NULL DEFAULT '',
    delivered_at     INTEGER,
    created_at       INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
DROP TABLE webhook_endpoints;
DROP TABLE events;
DROP TABLE event_heads;
