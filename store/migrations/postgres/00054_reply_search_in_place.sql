-- +goose Up
-- A text queued in a thread (a staff reply, a quick message, a keyword's
-- confirmation) adds its words to the thread's search document in the
-- UPDATE that moves the thread's activity (enqueueText), as campaign
-- texts do since 00034 and inbound ones since 00014, not in a second
-- UPDATE from this trigger: each is a new version of the thread, its
-- seventeen index entries and its whole document again in the search
-- indexes. A STOP wrote its thread three times. Notes, never sent, keep
-- the trigger.
DROP TRIGGER messages_search_add ON messages;
CREATE TRIGGER messages_search_add AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.kind = 'note')
    EXECUTE FUNCTION parley_conversation_search_add();

-- +goose Down
DROP TRIGGER messages_search_add ON messages;
CREATE TRIGGER messages_search_add AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.direction <> 'inbound' AND NEW.campaign_id IS NULL)
    EXECUTE FUNCTION parley_conversation_search_add();
