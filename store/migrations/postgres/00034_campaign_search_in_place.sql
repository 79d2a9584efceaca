-- +goose Up
-- A campaign text's words join its conversation's search document in the
-- queue's one UPDATE of the conversation (campaign_queue.go), as an
-- inbound text's do since 00014, not in a second UPDATE per text from
-- this trigger: a conversation the queue just created would otherwise be
-- written three times, each new row version re-running its foreign-key
-- checks. Only the campaign queue writes texts with a campaign.
DROP TRIGGER messages_search_add ON messages;
CREATE TRIGGER messages_search_add AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.direction <> 'inbound' AND NEW.campaign_id IS NULL)
    EXECUTE FUNCTION parley_conversation_search_add();

-- +goose Down
DROP TRIGGER messages_search_add ON messages;
CREATE TRIGGER messages_search_add AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.direction <> 'inbound')
    EXECUTE FUNCTION parley_conversation_search_add();
