-- +goose Up
-- Sends: every business-originated text (a campaign's or a quick message)
-- the carrier accepted, one row per message, with what the outbound report
-- asks of it kept current by the transactions that change it: the
-- contact's first reply and the first assignment after the send, and the
-- first episode closed after it with that episode's final tag. Only the
-- reply window is applied when the report is read.
CREATE TABLE sends (
    message_id        BIGINT PRIMARY KEY REFERENCES messages (id),
    account_id        BIGINT NOT NULL REFERENCES accounts (id),
    conversation_id   BIGINT NOT NULL REFERENCES conversations (id),
    contact_id        BIGINT NOT NULL REFERENCES contacts (id),
    channel_id        BIGINT NOT NULL REFERENCES channels (id),
    campaign_id       BIGINT,
    origin_type       TEXT   NOT NULL,
    sent_at           BIGINT NOT NULL,
    -- The contact's first send ever (this one or an earlier one): the
    -- contact is new in a report whose range starts at or before it.
    contact_first_sent_at BIGINT NOT NULL,
    first_reply_at    BIGINT,
    first_assigned_at BIGINT,
    first_assignee_id BIGINT REFERENCES users (id),
    closed_episode_id BIGINT REFERENCES episodes (id),
    final_tag_id      BIGINT REFERENCES tags (id),
    final_tag_type    TEXT,
    -- The sent_at of the contact's previous send: any, on the same
    -- channel, of the same origin type, both, and of the same campaign.
    -- A send whose previous one (of the kind a report groups or filters
    -- by) falls before the report's range is its contact's first in the
    -- range: distinct contacts are counted by sums, without a sort.
    prev_sent_at                BIGINT,
    prev_channel_sent_at        BIGINT,
    prev_origin_sent_at         BIGINT,
    prev_channel_origin_sent_at BIGINT,
    prev_campaign_sent_at       BIGINT
);
CREATE INDEX sends_report ON sends (account_id, sent_at, message_id);
-- A contact's earlier sends, read when a send is recorded.
CREATE INDEX sends_contact ON sends (contact_id, sent_at);
-- The sends each kind of later change still has to mark.
CREATE INDEX sends_awaiting_reply ON sends (conversation_id, sent_at) WHERE first_reply_at IS NULL;
CREATE INDEX sends_awaiting_assignee ON sends (conversation_id, sent_at) WHERE first_assigned_at IS NULL;
CREATE INDEX sends_awaiting_close ON sends (conversation_id, sent_at) WHERE closed_episode_id IS NULL;

-- A contact's first successful send, set once.
ALTER TABLE contacts ADD COLUMN first_sent_at BIGINT;

-- The exports of conversations and messages read a range of creation
-- times in keyset order.
CREATE INDEX conversations_created ON conversations (account_id, created_at, id);
CREATE INDEX messages_created ON messages (account_id, created_at, id);

-- +goose Down
DROP INDEX messages_created;
DROP INDEX conversations_created;
ALTER TABLE contacts DROP COLUMN first_sent_at;
DROP TABLE sends;
