-- +goose Up
-- The acceptances recorded together book their first status check
-- together, one row holding their ids (a JSON array), rather than a row
-- a text that its final receipt deletes again (see PostgreSQL's 00049).
CREATE TABLE status_check_batches (
    id            INTEGER PRIMARY KEY,
    accepted_at   INTEGER NOT NULL,
    next_check_at INTEGER NOT NULL,
    message_ids   TEXT    NOT NULL
);
CREATE INDEX status_check_batches_due ON status_check_batches (next_check_at, id);

-- +goose Down
INSERT INTO status_checks (message_id, accepted_at, checks, next_check_at)
SELECT m.id, b.accepted_at, 0, b.next_check_at
FROM status_check_batches b, json_each(b.message_ids) AS j
JOIN messages m ON m.id = j.value
WHERE m.status IN ('sending', 'sent')
ON CONFLICT (message_id) DO NOTHING;
DROP TABLE status_check_batches;
