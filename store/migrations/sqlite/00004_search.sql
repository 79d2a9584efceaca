-- +goose Up
-- Full-text search for the inbox's q: message bodies and contact names,
-- FTS5 tables over the rows they index (external content), kept in step by
-- triggers. unicode61 folds case and, with remove_diacritics, accents.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    body, content = 'messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages;

-- +goose StatementBegin
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
-- +goose StatementEnd

CREATE VIRTUAL TABLE contacts_fts USING fts5(
    name, content = 'contacts', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO contacts_fts (rowid, name) SELECT id, name FROM contacts;

-- +goose StatementBegin
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts (rowid, name) VALUES (new.id, new.name);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, name) VALUES ('delete', old.id, old.name);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF name ON contacts BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, name) VALUES ('delete', old.id, old.name);
    INSERT INTO contacts_fts (rowid, name) VALUES (new.id, new.name);
END;
-- +goose StatementEnd

-- Phone search by the last digits ("0333", "5550333"): the contact phone's
-- digits reversed, so that a suffix search is a prefix range on an index.
ALTER TABLE conversations ADD COLUMN contact_phone_rev TEXT NOT NULL DEFAULT '';
UPDATE conversations SET contact_phone_rev = parley_reverse_digits(contact_phone);
CREATE INDEX conversations_phone_rev ON conversations (account_id, contact_phone_rev);

-- +goose Down
DROP INDEX conversations_phone_rev;
ALTER TABLE conversations DROP COLUMN contact_phone_rev;
DROP TRIGGER contacts_fts_update;
DROP TRIGGER contacts_fts_delete;
DROP TRIGGER contacts_fts_insert;
DROP TABLE contacts_fts;
DROP TRIGGER messages_fts_update;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_insert;
DROP TABLE messages_fts;
