package store_test

import (
	"testing"

	"github.com/parleyhq/parley/store"
)

// TestMigrationNumbersWhatTheSequencerLeft: events an earlier version
// wrote for its sequencer, committed but not numbered yet at the upgrade,
// are numbered after the account's head in the order written, and their
// webhook deliveries booked, as the sequencer would have.
func TestMigrationNumbersWhatTheSequencerLeft(t *testing.T) {
	upgradeEachDB(t, 38, func(t *testing.T, db *store.DB) {
		head := 5
		if db.Dialect() == "sqlite" {
			head = 8 // SQLite's writers always numbered theirs, below
		}
		exec(t, db, `INSERT INTO event_heads (account_id, seq) VALUES (1, ?)`, head)
		exec(t, db, `INSERT INTO webhook_endpoints (id, account_id, url, secret, created_at, updated_at) VALUES (1, 1, 'https://example.com/hook', 'whsec', 0, 0)`)
		exec(t, db, `INSERT INTO webhook_subscriptions (account_id, type, endpoint_id) VALUES (1, 'message.updated', 1)`)
		for i, typ := range []string{"conversation.created", "message.updated", "message.updated"} {
			var seq any // unnumbered, as the sequencer found them
			if db.Dialect() == "sqlite" {
				seq = 6 + i
			}
			exec(t, db, `INSERT INTO events (account_id, seq, type, actor_type, data, created_at) VALUES (1, ?, ?, 'system', '{}', ?)`, seq, typ, 10+i)
		}
	}, func(t *testing.T, db *store.DB) {
		var seqs []int64
		if err := db.SQL().SelectContext(ctx, &seqs, `SELECT seq FROM events ORDER BY created_at`); err != nil {
			t.Fatal(err)
		}
		if len(seqs) != 3 || seqs[0] != 6 || seqs[1] != 7 || seqs[2] != 8 {
			t.Errorf("positions after the upgrade %v, want [6 7 8]", seqs)
		}
		if head := count(t, db, `SELECT seq FROM event_heads WHERE account_id = 1`); head != 8 {
			t.Errorf("head %d, want 8", head)
		}
		var booked []int64
		if err := db.SQL().SelectContext(ctx, &booked, `SELECT event_seq FROM webhook_deliveries WHERE endpoint_id = 1 ORDER BY event_seq`); err != nil {
			t.Fatal(err)
		}
		if len(booked) != 2 || booked[0] != 7 || booked[1] != 8 {
			t.Errorf("deliveries booked for positions %v, want [7 8] (the subscribed message.updated)", booked)
		}
	})
}
