package store_test

import (
	"testing"

	"github.com/parleyhq/parley/store"
)

// TestMigrationGivesQueuedTextsTheirCampaign: texts already in the outbox
// when 00047 runs carry their campaign afterwards, so that a campaign
// sending through the upgrade is still held back by its own backlog; a
// staff reply's text carries none.
func TestMigrationGivesQueuedTextsTheirCampaign(t *testing.T) {
	upgradeEachDB(t, 46, func(t *testing.T, db *store.DB) {
		oldChannel(t, db)
		exec(t, db, `INSERT INTO users (id, account_id, email, name, role, created_at, updated_at) VALUES (1, 1, 'a@example.com', 'A', 'admin', 0, 0)`)
		exec(t, db, `INSERT INTO campaigns (id, account_id, name, channel_id, body, audience, origin_type, status, rate_per_second, created_by, created_at, updated_at)
VALUES (7, 1, 'Spring', 1, 'Hello', '{}', 'campaign', 'sending', 10, 1, 0, 0)`)
		exec(t, db, `INSERT INTO contacts (id, account_id, created_at, updated_at) VALUES (1, 1, 0, 0)`)
		exec(t, db, `INSERT INTO conversations (id, account_id, channel_id, inbox_id, contact_id, contact_phone, business_phone, status,
    last_message_at, created_at, updated_at) VALUES (1, 1, 1, 1, 1, '+14155550111', '+14155550100', 'open', 0, 0, 0)`)
		for id, campaign := range map[int]any{1: int64(7), 2: nil} {
			exec(t, db, `INSERT INTO messages (id, account_id, conversation_id, channel_id, direction, kind, body, status, campaign_id, created_at, updated_at)
VALUES (?, 1, 1, 1, 'outbound', 'text', 'Hello', 'queued', ?, 0, 0)`, id, campaign)
			exec(t, db, `INSERT INTO outbox (account_id, message_id, channel_id, to_phone, purpose, priority, state, available_at, created_at, updated_at)
VALUES (1, ?, 1, '+14155550111', 'campaign', 10, 'queued', 0, 0, 0)`, id)
		}
	}, func(t *testing.T, db *store.DB) {
		var rows []struct {
			MessageID  int64  `db:"message_id"`
			CampaignID *int64 `db:"campaign_id"`
		}
		if err := db.SQL().SelectContext(ctx, &rows, `SELECT message_id, campaign_id FROM outbox ORDER BY message_id`); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0].CampaignID == nil || *rows[0].CampaignID != 7 || rows[1].CampaignID != nil {
			t.Errorf("after 00047: %+v; want message 1 in campaign 7, message 2 in none", rows)
		}
	})
}
