-- +goose Up
-- An inbound text's words join its conversation's search document in the
-- same UPDATE that records the text on the conversation (updateOnInbound),
-- not in a second UPDATE from this trigger: each UPDATE of a conversation
-- writes a new row version into its indexes, and updating a row version
-- the transaction itself wrote re-runs the foreign-key checks (key-share
-- locks on the account, channel, inbox and contact rows every text shares).
-- Outbound texts and notes still come through the trigger.
DROP TRIGGER messages_search_add ON messages;
CREATE TRIGGER messages_search_add AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.direction <> 'inbound')
    EXECUTE FUNCTION parley_conversation_search_add();

-- +goose Down
DROP TRIGGER messages_search_add ON messages;
CREATE TRIGGER messages_search_add AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION parley_conversation_search_add();
