-- +goose Up
-- The messages count trigger finds each moved text's recipient by its own
-- probe of campaign_recipients_message (LATERAL … OFFSET 0, which the
-- planner cannot turn into a join of its choosing). Its plan is kept for
-- the session: made from statistics of a time when few recipients had a
-- text, the join was a hash join over every recipient with one, and each
-- acceptance or receipt batch read the campaign's whole queue.
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
    CROSS JOIN LATERAL (SELECT status FROM campaign_recipients WHERE message_id = p.id OFFSET 0) r
    WHERE p.from_message <> p.to_message
    GROUP BY p.campaign_id, r.status, p.from_message, p.to_message;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose Down
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
