-- +goose Up
-- Full-text search for the inbox's q: GIN indexes over the 'simple'
-- text-search configuration (no stemming: names and short texts in any
-- language) of message bodies and contact names. Queries must use the very
-- same expressions for the planner to pick these indexes.
CREATE INDEX messages_body_fts ON messages USING GIN (to_tsvector('simple', body));
CREATE INDEX contacts_name_fts ON contacts USING GIN (to_tsvector('simple', name));

-- Phone search by the last digits ("0333", "5550333"): the contact phone's
-- digits reversed, so that a suffix search is a prefix range on an index.
ALTER TABLE conversations ADD COLUMN contact_phone_rev TEXT NOT NULL DEFAULT '';
UPDATE conversations SET contact_phone_rev = reverse(regexp_replace(contact_phone, '[^0-9]', '', 'g'));
CREATE INDEX conversations_phone_rev ON conversations (account_id, contact_phone_rev);

-- +goose Down
DROP INDEX conversations_phone_rev;
ALTER TABLE conversations DROP COLUMN contact_phone_rev;
DROP INDEX contacts_name_fts;
DROP INDEX messages_body_fts;
