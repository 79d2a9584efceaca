-- +goose Up
CREATE TABLE campaigns (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    name             TEXT    NOT NULL,
    channel_id       INTEGER NOT NULL REFERENCES channels (id),
    body             TEXT    NOT NULL,
    audience         TEXT NOT NULL,
    origin_type      TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    send_at          INTEGER,
    schedule         TEXT    NOT NULL DEFAULT '',
    rate_per_second  INTEGER NOT NULL,
    created_by       INTEGER NOT NULL REFERENCES users (id),
    -- Audience expansion: the part being expanded (0 contact ids, 1 phones,
    -- 2 filter, 3 done) and how far, so memory stays flat for any size.
    expand_stage     INTEGER NOT NULL DEFAULT 0,
    expand_cursor    INTEGER NOT NULL DEFAULT 0,
    -- The rate is global: one batch per tick, whichever instance takes it.
    next_batch_at    INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX campaigns_account ON campaigns (account_id, id);
CREATE INDEX campaigns_active ON campaigns (next_batch_at) WHERE status IN ('scheduled', 'sending');

CREATE TABLE campaign_recipients (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    campaign_id      INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    contact_id       INTEGER,
    phone            TEXT    NOT NULL,
    status           TEXT    NOT NULL, -- pending | queued | skipped_opted_out | cancelled
    message_id       INTEGER,
    conversation_id  INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (campaign_id, phone)
);
CREATE INDEX campaign_recipients_pending ON campaign_recipients (campaign_id, id) WHERE status = 'pending';
CREATE INDEX campaign_recipients_list ON campaign_recipients (campaign_id, id);

-- +goose Down
DROP TABLE campaign_recipients;
DROP TABLE campaigns;
