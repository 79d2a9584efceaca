-- +goose Up
-- A campaign's counts kept in its row, so a GET reads them rather than
-- aggregating its recipients. Where a recipient is counted follows from
-- its status and its text's (campaigns.Counts.Apply). Triggers on both
-- tables record each change of those, in the transaction of the change,
-- as rows of campaign_count_changes: appended, never updated, so that
-- concurrent batches of one campaign do not queue on a hot row. A
-- campaign tick folds them into the campaign's row; a GET adds those not
-- folded yet. One statement must not change a recipient and its text
-- together: each trigger reads the other table as it is.
ALTER TABLE campaigns ADD COLUMN count_recipients BIGINT NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN count_queued BIGINT NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN count_sent BIGINT NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN count_delivered BIGINT NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN count_failed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN count_skipped BIGINT NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN count_cancelled BIGINT NOT NULL DEFAULT 0;

-- moved recipients went from (from_recipient, from_message) to
-- (to_recipient, to_message); '' is no status (a new recipient, no text).
CREATE TABLE campaign_count_changes (
    campaign_id    BIGINT NOT NULL,
    moved          BIGINT NOT NULL,
    from_recipient TEXT   NOT NULL,
    from_message   TEXT   NOT NULL,
    to_recipient   TEXT   NOT NULL,
    to_message     TEXT   NOT NULL
);
CREATE INDEX campaign_count_changes_campaign ON campaign_count_changes (campaign_id);

-- Statement-level: one row per statement and kind of move, however many
-- recipients it moved. The other table is read by scalar subqueries, so
-- each row is one index lookup whatever the planner thinks of the
-- transition tables (a join was planned as a scan of every recipient
-- while the table's statistics lagged a growing audience).
-- +goose StatementBegin
CREATE FUNCTION parley_campaign_recipients_joined() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campaign_count_changes
    SELECT campaign_id, COUNT(*), '', '', status, message_status
    FROM (SELECT n.campaign_id, n.status,
              COALESCE((SELECT m.status FROM messages m WHERE m.id = n.message_id), '') AS message_status
          FROM new_rows n) j
    GROUP BY 1, 5, 6;
    RETURN NULL;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION parley_campaign_recipients_moved() RETURNS trigger LANGUAGE plpgsql AS $$
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
-- +goose StatementBegin
CREATE FUNCTION parley_campaign_messages_moved() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER campaign_recipients_joined AFTER INSERT ON campaign_recipients
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION parley_campaign_recipients_joined();
CREATE TRIGGER campaign_recipients_moved AFTER UPDATE ON campaign_recipients
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION parley_campaign_recipients_moved();
CREATE TRIGGER messages_campaign_moved AFTER UPDATE ON messages
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION parley_campaign_messages_moved();

-- The recipients so far, as if each had just joined.
INSERT INTO campaign_count_changes
SELECT r.campaign_id, COUNT(*), '', '', r.status, COALESCE(m.status, '')
FROM campaign_recipients r LEFT JOIN messages m ON m.id = r.message_id
GROUP BY 1, 5, 6;

-- +goose Down
DROP TRIGGER messages_campaign_moved ON messages;
DROP TRIGGER campaign_recipients_moved ON campaign_recipients;
DROP TRIGGER campaign_recipients_joined ON campaign_recipients;
DROP FUNCTION parley_campaign_messages_moved();
DROP FUNCTION parley_campaign_recipients_moved();
DROP FUNCTION parley_campaign_recipients_joined();
DROP TABLE campaign_count_changes;
ALTER TABLE campaigns DROP COLUMN count_cancelled;
ALTER TABLE campaigns DROP COLUMN count_skipped;
ALTER TABLE campaigns DROP COLUMN count_failed;
ALTER TABLE campaigns DROP COLUMN count_delivered;
ALTER TABLE campaigns DROP COLUMN count_sent;
ALTER TABLE campaigns DROP COLUMN count_queued;
ALTER TABLE campaigns DROP COLUMN count_recipients;
