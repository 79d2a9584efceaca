-- +goose Up
-- A recurring campaign (a cron schedule) is a template: each time its
-- schedule fires, a run is started as a campaign of its own (parent_id),
-- with its own recipients and counts. next_run_at is the parent's next
-- fire time while it is scheduled.
ALTER TABLE campaigns ADD COLUMN parent_id BIGINT REFERENCES campaigns (id);
ALTER TABLE campaigns ADD COLUMN next_run_at BIGINT;
CREATE INDEX campaigns_runs_due ON campaigns (next_run_at) WHERE status = 'scheduled' AND next_run_at IS NOT NULL;
CREATE INDEX campaigns_parent ON campaigns (parent_id, id) WHERE parent_id IS NOT NULL;

-- A text held at send time (opt-out, cancelled campaign) finds its
-- recipient row by message.
CREATE INDEX campaign_recipients_message ON campaign_recipients (message_id) WHERE message_id IS NOT NULL;

-- +goose Down
DROP INDEX campaign_recipients_message;
DROP INDEX campaigns_parent;
DROP INDEX campaigns_runs_due;
ALTER TABLE campaigns DROP COLUMN next_run_at;
ALTER TABLE campaigns DROP COLUMN parent_id;
