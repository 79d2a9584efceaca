package store_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

// TestReceiptsRewriteTheirTextInPlace: a receipt changes no indexed column
// of its text, so PostgreSQL can write the text's new version on the page
// of the one it replaces (a HOT update: no index entries, nothing for
// VACUUM's index passes) when that page has room. Texts are written to
// pages left 30% empty, so the first receipt of a good share of them
// finds it (a quarter here); on pages packed full none does while other
// transactions still see the versions the acceptances replaced.
func TestReceiptsRewriteTheirTextInPlace(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		if db.Dialect() != "postgres" {
			t.Skip("PostgreSQL's row versions only")
		}
		const n = 300
		// Another transaction's snapshot, as under traffic: taken before
		// the texts are written, it keeps the versions the acceptances
		// replace from being pruned, so no page frees their space before
		// the receipts come.
		reader, err := db.SQL().BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
		if err != nil {
			t.Fatal(err)
		}
		defer reader.Rollback()
		if _, err := reader.ExecContext(ctx, `SELECT COUNT(*) FROM messages`); err != nil {
			t.Fatal(err)
		}
		tn := newTenant(t, db, sidA, bizA)
		items := tn.sendCampaign(t, n, t0)
		ids := make([]parley.ID, len(items))
		for i, it := range items {
			ids[i] = it.MessageID
		}
		// The page each text's current version is on.
		pages := func() map[parley.ID]string {
			t.Helper()
			var rows []struct {
				ID   parley.ID `db:"id"`
				Page string    `db:"page"`
			}
			if err := db.SQL().SelectContext(ctx, &rows, `SELECT id, split_part(trim(ctid::text, '()'), ',', 1) AS page
FROM messages WHERE id = ANY($1)`, pq.Array(ids)); err != nil {
				t.Fatal(err)
			}
			out := map[parley.ID]string{}
			for _, r := range rows {
				out[r.ID] = r.Page
			}
			return out
		}
		before := pages()
		for _, id := range ids {
			if _, err := db.ApplyStatus(ctx, conversations.StatusUpdate{ChannelID: tn.channel.ID, Carrier: conversations.CarrierTwilio,
				CarrierAccountID: sidA, CarrierMessageID: outboundMessage(t, db, id).CarrierMessageID,
				Status: conversations.MessageSent, At: t0.Add(2 * time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
		inPlace := 0
		for id, page := range pages() {
			if before[id] == page {
				inPlace++
			}
		}
		if len(before) != n || inPlace < n/5 {
			t.Errorf("%d of %d texts' receipts were written on their text's page, want at least a fifth", inPlace, len(before))
		}
	})
}
