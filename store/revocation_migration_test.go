package store_test

import (
	"testing"

	"github.com/parleyhq/parley/store"
)

// TestMigrationSettlesOldRevocationFlags: flags raised before migration
// 00037 are answered where the phone has opted out since, and the others
// stay for staff but count as reminded of, so that the upgrade does not
// send a reminder for every old flag at once.
func TestMigrationSettlesOldRevocationFlags(t *testing.T) {
	upgradeEachDB(t, 36, func(t *testing.T, db *store.DB) {
		oldChannel(t, db)
		for i, phone := range []string{"+14155550111", "+14155550112", "+14155550113"} {
			exec(t, db, `INSERT INTO contacts (id, account_id, created_at, updated_at) VALUES (?, 1, 0, 0)`, i+1)
			flagged := any(int64(1000 + i))
			if i == 2 {
				flagged = nil
			}
			exec(t, db, `INSERT INTO conversations (id, account_id, channel_id, inbox_id, contact_id, contact_phone, business_phone, status,
    revocation_flagged_at, last_message_at, created_at, updated_at) VALUES (?, 1, 1, 1, ?, ?, '+14155550100', 'open', ?, 0, 0, 0)`, i+1, i+1, phone, flagged)
		}
		exec(t, db, `INSERT INTO consents (account_id, phone, opted_out, changed_at) VALUES (1, '+14155550112', TRUE, 0)`)
	}, func(t *testing.T, db *store.DB) {
		var rows []struct {
			ID       int64  `db:"id"`
			Flagged  *int64 `db:"revocation_flagged_at"`
			Notified *int64 `db:"revocation_notified_at"`
		}
		if err := db.SQL().SelectContext(ctx, &rows, `SELECT id, revocation_flagged_at, revocation_notified_at FROM conversations ORDER BY id`); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 || rows[0].Flagged == nil || rows[0].Notified == nil || *rows[0].Notified != 1000 ||
			rows[1].Flagged != nil || rows[2].Flagged != nil || rows[2].Notified != nil {
			t.Errorf("after 00037: %+v; want 1 flagged and counted as reminded of, 2 (opted out) and 3 unflagged", rows)
		}
	})
}

// oldChannel writes, on a database not yet upgraded, account 1's inbox 1
// and its Twilio channel 1 (+14155550100), by the columns every version
// has.
func oldChannel(t *testing.T, db *store.DB) {
	t.Helper()
	exec(t, db, `INSERT INTO inboxes (id, account_id, name, kind, created_at) VALUES (1, 1, 'Support', 'support', 0)`)
	exec(t, db, `INSERT INTO channels (id, account_id, inbox_id, carrier, phone_number, carrier_account_id, auth_token, created_at)
VALUES (1, 1, 1, 'twilio', '+14155550100', 'AC1', 'token', 0)`)
}
