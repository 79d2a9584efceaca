-- +goose Up
-- The carrier ids of text parts whose set a reused reference retired
-- (store.JoinTextPart): one of them delivered again is dropped, not
-- joined to the next text under that reference.
CREATE TABLE retired_text_parts (
    channel_id BIGINT NOT NULL,
    carrier_message_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, carrier_message_id)
);
CREATE INDEX retired_text_parts_received_at ON retired_text_parts (received_at);

-- +goose Down
DROP TABLE retired_text_parts;
