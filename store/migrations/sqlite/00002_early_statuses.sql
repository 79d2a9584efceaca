-- +goose Up
-- A carrier may post a delivery receipt before the dispatcher has recorded
-- the carrier's id for the text (the receipt races the API answer). Such
-- receipts wait here and are applied when the id is recorded.
CREATE TABLE early_statuses (
    id                 INTEGER PRIMARY KEY,
    carrier            TEXT    NOT NULL,
    carrier_account_id TEXT    NOT NULL,
    carrier_message_id TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    error_code         INTEGER,
    received_at        INTEGER NOT NULL
);
CREATE INDEX early_statuses_sid ON early_statuses (carrier_message_id);
CREATE INDEX early_statuses_age ON early_statuses (received_at);

-- +goose Down
DROP TABLE early_statuses;
