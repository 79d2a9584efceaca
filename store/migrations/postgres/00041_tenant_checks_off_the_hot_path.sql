-- +goose Up
-- Every text writes rows to these tables, each with its account's id and
-- most with its channel's, and each insert's foreign key check locked the
-- account's one row, or the number's, FOR KEY SHARE: rows shared by every
-- concurrent transaction, whose lockers became multixacts
-- (docs/PERFORMANCE.md, "Tenant checks off the hot path"). The store
-- copies these ids from the row a new one comes from (the channel a text
-- arrived on, the campaign, the conversation), checked when that was
-- written, and accounts and channels are never deleted. Conversations
-- keep their channel's check, and configuration tables all of theirs.
ALTER TABLE messages DROP CONSTRAINT messages_account_id_fkey;
ALTER TABLE outbox DROP CONSTRAINT outbox_account_id_fkey;
ALTER TABLE sends DROP CONSTRAINT sends_account_id_fkey;
ALTER TABLE conversation_events DROP CONSTRAINT conversation_events_account_id_fkey;
ALTER TABLE campaign_recipients DROP CONSTRAINT campaign_recipients_account_id_fkey;
ALTER TABLE contacts DROP CONSTRAINT contacts_account_id_fkey;
ALTER TABLE contact_phones DROP CONSTRAINT contact_phones_account_id_fkey;
ALTER TABLE conversations DROP CONSTRAINT conversations_account_id_fkey;
ALTER TABLE episodes DROP CONSTRAINT episodes_account_id_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_channel_id_fkey;
ALTER TABLE outbox DROP CONSTRAINT outbox_channel_id_fkey;
ALTER TABLE sends DROP CONSTRAINT sends_channel_id_fkey;

-- +goose Down
ALTER TABLE messages ADD CONSTRAINT messages_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id);
ALTER TABLE outbox ADD CONSTRAINT outbox_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id);
ALTER TABLE sends ADD CONSTRAINT sends_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id);
ALTER TABLE conversation_events ADD CONSTRAINT conversation_events_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id);
ALTER TABLE campaign_recipients ADD CONSTRAINT campaign_recipients_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id);
ALTER TABLE contacts ADD CONSTRAINT contacts_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id);
ALTER TABLE contact_phones ADD CONSTRAINT contact_phones_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id);
ALTER TABLE conversations ADD CONSTRAINT conversations_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id);
ALTER TABLE episodes ADD CONSTRAINT episodes_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id);
ALTER TABLE messages ADD CONSTRAINT messages_channel_id_fkey FOREIGN KEY (channel_id) REFERENCES channels(id);
ALTER TABLE outbox ADD CONSTRAINT outbox_channel_id_fkey FOREIGN KEY (channel_id) REFERENCES channels(id);
ALTER TABLE sends ADD CONSTRAINT sends_channel_id_fkey FOREIGN KEY (channel_id) REFERENCES channels(id);
