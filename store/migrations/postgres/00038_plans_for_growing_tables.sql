-- +goose Up
-- Plans that stay right while the tables grow. PostgreSQL keeps a
-- prepared statement's plan (and a PL/pgSQL function's) for the session,
-- made from the tables as they were. On a new installation those are
-- small, and a join by key planned then as a scan of the whole table stays
-- one as the table grows: at 5,000 campaign texts a receipt batch read
-- 13,600 pages where a few dozen do (docs/PERFORMANCE.md).
--
-- parley_batch reads a batch's JSON array of rows (store/batch_rows.go).
-- It is jsonb_array_elements with an estimate of 10 rows rather than 100:
-- the batch's LIMIT then makes it one row in a plan made without knowing
-- the batch, and a batch joins the tables by their indexes however small
-- they are. PL/pgSQL, so that the planner cannot inline it and lose the
-- estimate.
-- +goose StatementBegin
CREATE FUNCTION parley_batch(rows jsonb) RETURNS TABLE (value jsonb) LANGUAGE plpgsql IMMUTABLE ROWS 10 AS $$
BEGIN
    RETURN QUERY SELECT e FROM jsonb_array_elements(rows) AS e;
END $$;
-- +goose StatementEnd

-- The campaign count triggers read the other table by its index, one
-- lookup a changed row: with sequential scans off inside them the plan is
-- the index's whatever the statistics said (they scan no table in full;
-- transition tables are not touched by the setting). The messages
-- trigger looked up each text's recipient in a scalar subquery its filter
-- needed, which the planner, taking a transition table for one row, ran
-- inside the join of the old and new rows: once for every pair, n²
-- lookups for n texts. A join to the recipients runs it once a text.
ALTER FUNCTION parley_campaign_recipients_joined() SET enable_seqscan = off;
ALTER FUNCTION parley_campaign_recipients_moved() SET enable_seqscan = off;
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

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION parley_campaign_messages_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campaign_count_changes
    SELECT campaign_id, COUNT(*), recipient, from_message, recipient, to_message
    FROM (SELECT n.campaign_id, o.status AS from_message, n.status AS to_message,
              (SELECT r.status FROM campaign_recipients r WHERE r.message_id = n.id) AS recipient
          FROM old_rows o JOIN new_rows n ON n.id = o.id
          WHERE n.campaign_id IS NOT NULL AND o.status <> n.status) j
    WHERE recipient IS NOT NULL
    GROUP BY 1, 3, 4, 6;
    RETURN NULL;
END $$;
-- +goose StatementEnd
ALTER FUNCTION parley_campaign_recipients_moved() RESET enable_seqscan;
ALTER FUNCTION parley_campaign_recipients_joined() RESET enable_seqscan;
DROP FUNCTION parley_batch(jsonb);
