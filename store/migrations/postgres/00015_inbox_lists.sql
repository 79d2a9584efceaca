-- +goose Up
-- Indexes of the inbox's lists, newest activity first (store/conversations.go
-- quotes their plans at 1M conversations):
--
-- conversations_inbox serves inbox_id: without it, the list of an inbox
-- with few conversations walked every conversation of the account.
--
-- conversations_unassigned serves view=unassigned: "assignee_id IS NULL"
-- does not tell the planner that conversations_assignee's second column is
-- constant, so it could not walk that index in activity order and filtered
-- the walk of conversations_activity instead. conversations_assignee keeps
-- the assigned rows only.
--
-- status ends each list index, after the sort key: a status filter (an
-- equality, or the range that spans a status list) is then checked on
-- index entries, so rows of other statuses cost no table read, and a
-- search's recency window walks the conversations of the wanted statuses
-- only.
DROP INDEX conversations_activity;
CREATE INDEX conversations_activity ON conversations (account_id, last_message_at DESC, id DESC, status);
DROP INDEX conversations_assignee;
CREATE INDEX conversations_assignee ON conversations (account_id, assignee_id, last_message_at DESC, id DESC, status)
    WHERE assignee_id IS NOT NULL;
CREATE INDEX conversations_unassigned ON conversations (account_id, last_message_at DESC, id DESC, status)
    WHERE assignee_id IS NULL;
CREATE INDEX conversations_inbox ON conversations (account_id, inbox_id, last_message_at DESC, id DESC, status);

-- +goose Down
DROP INDEX conversations_inbox;
DROP INDEX conversations_unassigned;
DROP INDEX conversations_assignee;
CREATE INDEX conversations_assignee ON conversations (account_id, assignee_id, last_message_at DESC, id DESC);
DROP INDEX conversations_activity;
CREATE INDEX conversations_activity ON conversations (account_id, last_message_at DESC, id DESC);
