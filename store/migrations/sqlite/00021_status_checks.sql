-- +goose Up
-- Texts the carrier accepted whose final status has not come: each is
-- looked up at the carrier once next_check_at passes, in case its status
-- callbacks were lost. A final status removes the row.
CREATE TABLE status_checks (
    message_id    INTEGER PRIMARY KEY REFERENCES messages (id),
    accepted_at   INTEGER NOT NULL,
    checks        INTEGER NOT NULL DEFAULT 0,
    next_check_at INTEGER NOT NULL
);
CREATE INDEX status_checks_due ON status_checks (next_check_at, message_id);
-- Texts already waiting for a receipt are looked up too.
INSERT INTO status_checks (message_id, accepted_at, next_check_at)
SELECT id, updated_at, updated_at + 3600000 FROM messages
WHERE direction = 'outbound' AND status IN ('sending', 'sent') AND carrier_message_id IS NOT NULL;

-- +goose Down
DROP TABLE status_checks;
