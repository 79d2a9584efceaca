-- +goose Up
-- The count triggers pair a statement's old and new rows by grouping
-- them by id instead of joining the two transition tables. A join's plan
-- depends on how many rows there are, so 00050 planned it for every
-- statement (EXECUTE): parsing and planning were about half the triggers'
-- time, on every acceptance and receipt batch. A grouping has no plan that
-- grows as n² (a hash or a sort, whatever it was planned for), so the
-- plan PL/pgSQL keeps for the session stays right for a cancelled
-- audience of a million after statements of one row. The other table is
-- still read by its index, one lookup a moved row.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION parley_campaign_recipients_moved() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off AS $$
BEGIN
    INSERT INTO campaign_count_changes
    SELECT campaign_id, COUNT(*), from_recipient, from_message, to_recipient, to_message
    FROM (SELECT p.campaign_id, p.from_recipient,
              COALESCE((SELECT m.status FROM messages m WHERE m.id = p.from_message_id), '') AS from_message,
              p.to_recipient,
              COALESCE((SELECT m.status FROM messages m WHERE m.id = p.to_message_id), '') AS to_message
          FROM (SELECT id, max(campaign_id) AS campaign_id,
                    max(status) FILTER (WHERE NOT moved) AS from_recipient,
                    max(message_id) FILTER (WHERE NOT moved) AS from_message_id,
                    max(status) FILTER (WHERE moved) AS to_recipient,
                    max(message_id) FILTER (WHERE moved) AS to_message_id
                FROM (SELECT id, campaign_id, status, message_id, false AS moved FROM old_rows
                      UNION ALL
                      SELECT id, campaign_id, status, message_id, true FROM new_rows) s
                GROUP BY id) p
          WHERE p.from_recipient <> p.to_recipient OR p.from_message_id IS DISTINCT FROM p.to_message_id) j
    GROUP BY 1, 3, 4, 5, 6;
    RETURN NULL;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION parley_campaign_messages_moved() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off AS $$
BEGIN
    INSERT INTO campaign_count_changes
    SELECT p.campaign_id, COUNT(*), r.status, p.from_message, r.status, p.to_message
    FROM (SELECT id, max(campaign_id) AS campaign_id,
              max(status) FILTER (WHERE NOT moved) AS from_message,
              max(status) FILTER (WHERE moved) AS to_message
          FROM (SELECT id, campaign_id, status, false AS moved FROM old_rows WHERE campaign_id IS NOT NULL
                UNION ALL
                SELECT id, campaign_id, status, true FROM new_rows WHERE campaign_id IS NOT NULL) s
          GROUP BY id) p
    JOIN campaign_recipients r ON r.message_id = p.id
    WHERE p.from_message <> p.to_message
    GROUP BY p.campaign_id, r.status, p.from_message, p.to_message;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose Down
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

