-- +goose Up
-- Parts of inbound texts a carrier delivers split (Vonage's SMS API),
-- kept until the last part arrives and the whole text is ingested. A set
-- row is what concurrent parts of one text queue on, so that the last to
-- commit sees every part.
CREATE TABLE text_part_sets (
    channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    sender TEXT NOT NULL,
    ref TEXT NOT NULL,
    total INTEGER NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, sender, ref)
);
CREATE TABLE text_parts (
    channel_id BIGINT NOT NULL,
    sender TEXT NOT NULL,
    ref TEXT NOT NULL,
    part INTEGER NOT NULL,
    carrier_message_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, sender, ref, part),
    FOREIGN KEY (channel_id, sender, ref) REFERENCES text_part_sets (channel_id, sender, ref) ON DELETE CASCADE
);
CREATE INDEX text_part_sets_received_at ON text_part_sets (received_at);

-- +goose Down
DROP TABLE text_parts;
DROP TABLE text_part_sets;
