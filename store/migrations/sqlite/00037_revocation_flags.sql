-- +goose Up
-- A text that reads like a request to stop texting flags its
-- conversation (revocation_flagged_at, since 00001) until staff record an
-- opt-out or dismiss it: the text that raised the flag, the recogniser's
-- rule and its reason in words, and when staff were told it had waited a
-- day unanswered.
ALTER TABLE conversations ADD COLUMN revocation_message_id BIGINT;
ALTER TABLE conversations ADD COLUMN revocation_rule TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN revocation_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN revocation_notified_at BIGINT;
-- Flags waiting for staff, oldest first: the inbox's filter and the
-- day-old reminder read only these.
CREATE INDEX conversations_revocation_flagged ON conversations (revocation_flagged_at) WHERE revocation_flagged_at IS NOT NULL;
-- Flags raised before: those of phones since opted out are answered; the
-- rest stay for staff, without a reminder for each at once.
UPDATE conversations SET revocation_flagged_at = NULL
WHERE revocation_flagged_at IS NOT NULL AND EXISTS (SELECT 1 FROM consents cs
    WHERE cs.account_id = conversations.account_id AND cs.phone = conversations.contact_phone AND cs.opted_out);
UPDATE conversations SET revocation_notified_at = revocation_flagged_at WHERE revocation_flagged_at IS NOT NULL;

-- +goose Down
DROP INDEX conversations_revocation_flagged;
ALTER TABLE conversations DROP COLUMN revocation_notified_at;
ALTER TABLE conversations DROP COLUMN revocation_reason;
ALTER TABLE conversations DROP COLUMN revocation_rule;
ALTER TABLE conversations DROP COLUMN revocation_message_id;
