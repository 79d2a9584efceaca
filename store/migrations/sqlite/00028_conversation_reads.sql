-- +goose Up
-- When each staff member last opened each conversation: the web inbox
-- marks a conversation unread for them when a text came in after.
CREATE TABLE conversation_reads (
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    user_id         INTEGER NOT NULL REFERENCES users (id),
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    read_at         INTEGER NOT NULL,
    PRIMARY KEY (user_id, conversation_id)
);

-- +goose Down
DROP TABLE conversation_reads;
