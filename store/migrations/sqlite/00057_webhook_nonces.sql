-- +goose Up
-- The nonces of webhooks whose signature covers no body (Plivo's V2),
-- each with the digest of what it first came with: a captured signature
-- cannot carry another body (conversations.WebhookNonce).
CREATE TABLE webhook_nonces (
    carrier TEXT NOT NULL,
    carrier_account_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (carrier, carrier_account_id, nonce)
);
CREATE INDEX webhook_nonces_received_at ON webhook_nonces (received_at);

-- +goose Down
DROP TABLE webhook_nonces;
