package store_test

import (
	"testing"

	"github.com/parleyhq/parley/store"
)

// TestMigrationRaisesTinyPaces: a channel stored with a pace so small that
// the throttle's interval overflowed (1e-30 texts a second: unthrottled)
// comes out of migration 00022 at the least pace allowed, 0.01; a zero
// pace (no limit) and a normal one are kept.
func TestMigrationRaisesTinyPaces(t *testing.T) {
	paces := map[string]float64{"+14155550101": 1e-30, "+14155550102": 0, "+14155550103": 5}
	upgradeEachDB(t, 21, func(t *testing.T, db *store.DB) {
		exec(t, db, `INSERT INTO inboxes (id, account_id, name, kind, created_at) VALUES (1, 1, 'Support', 'support', 0)`)
		for number, pace := range paces {
			exec(t, db, `INSERT INTO channels (account_id, inbox_id, carrier, phone_number, carrier_account_id, auth_token, created_at, messages_per_second)
VALUES (1, 1, 'twilio', ?, 'AC1', 'token', 0, ?)`, number, pace)
		}
	}, func(t *testing.T, db *store.DB) {
		want := map[string]float64{"+14155550101": 0.01, "+14155550102": 0, "+14155550103": 5}
		for number, w := range want {
			var got float64
			if err := db.SQL().GetContext(ctx, &got, db.SQL().Rebind(`SELECT messages_per_second FROM channels WHERE phone_number = ?`), number); err != nil {
				t.Fatal(err)
			}
			if got < w*0.999 || got > w*1.001 {
				t.Errorf("%s stored at %g texts/s came out at %g, want %g", number, paces[number], got, w)
			}
		}
	})
}
