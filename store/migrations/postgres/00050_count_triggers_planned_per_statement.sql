-- +goose Up
-- The count triggers that pair a statement's old and new rows kept, as
-- every PL/pgSQL query without parameters does, the plan made the first
-- time they ran in a session: a session that first moved a recipient or
-- two paired them by a nested loop, and then paired a campaign's
-- cancelled audience (or a disconnected channel's failed texts) the same
-- way, n² comparisons: 5,000 recipients took 2.5 s, 50,000 minutes. Run
-- through EXECUTE, the pairing is planned each time for the rows it has.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION parley_campaign_recipients_moved() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off AS $$
BEGIN
    EXECUTE $q$
    INSERT INTO campaign_count_changes
    SELECT campaign_id, COUNT(*), from_recipient, from_message, to_recipient, to_message
    FROM (SELECT n.campaign_id, o.status AS from_recipient,
              COALESCE((SELECT m.status FROM messages m WHERE m.id = o.message_id), '') AS from_message,
              n.status AS to_recipient,
              COALESCE((SELECT m.status FROM messages m WHERE m.id = n.message_id), '') AS to_message
          FROM old_rows o JOIN new_rows n ON n.id = o.id
          WHERE o.status <> n.status OR o.message_id IS DISTINCT FROM n.message_id) j
    GROUP BY 1, 3, 4, 5, 6 $q$;
    RETURN NULL;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION parley_campaign_messages_moved() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off AS $$
BEGIN
    EXECUTE $q$
    INSERT INTO campaign_count_changes
    SELECT n.campaign_id, COUNT(*), r.status, o.status, r.status, n.status
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    JOIN campaign_recipients r ON r.message_id = n.id
    WHERE n.campaign_id IS NOT NULL AND o.status <> n.status
    GROUP BY n.campaign_id, r.status, o.status, n.status $q$;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION parley_campaign_messages_moved() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off AS $$
BEGIN
    INSERT INTO campaign_count_changes
    SELECT n.campaign_id, COUNT(*), r.status, o.status, r.status, n.status
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    JOIN campaign_recipients r ON r.message_id = n.id
    WHERE n.campaign_id IS NOT NULL AND o.status <> n.status
    GROUP BY n.campaign_id, r.status, o.status, n.status;
    RETURN NULL;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION parley_campaign_recipients_moved() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off AS $$
BEGIN
    INSERT INTO campaign_count_changes
    SELECT campaign_id, COUNT(*), from_recipient, from_message, to_recipient, to_message
    FROM (SELECT n.campaign_id, o.status AS from_recipient,
              COALESCE((SELECT m.status FROM messages m WHERE m.id = o.message_id), '') AS from_message,
              n.status AS to_recipient,
              COALESCE((SELECT m.status FROM messages m WHERE m.id = n.message_id), '') AS to_message
          FROM old_rows o JOIN new_rows n ON n.id = o.id
          WHERE o.status <> n.status OR o.message_id IS DISTINCT FROM n.message_id) j
    GROUP BY 1, 3, 4, 5, 6;
    RETURN NULL;
END $$;
-- +goose StatementEnd
