package store_test

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/campaigns"
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
		tn := newTenant(t, db, sidA, bizA)
		phones := make([]string, n)
		for i := range phones {
			phones[i] = fmt.Sprintf("+1628%07d", 7000000+i)
		}
		tn.startCampaign(t, campaigns.Audience{Phones: phones}, n)
		tn.advance(t, t0)
		items := claim(t, db, t0.Add(time.Second), n)
		if len(items) != n {
			t.Fatalf("claimed %d texts, want %d", len(items), n)
		}
		// Another transaction's snapshot, as under traffic: the versions
		// the acceptances replace stay visible to it, so no page frees
		// their space before the receipts come.
		reader, err := db.SQL().BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
		if err != nil {
			t.Fatal(err)
		}
		defer reader.Rollback()
		if _, err := reader.ExecContext(ctx, `SELECT COUNT(*) FROM messages`); err != nil {
			t.Fatal(err)
		}
		sid := func(i int) string { return fmt.Sprintf("SMinplace%06d", i) }
		for i, it := range items {
			if err := db.MarkSent(ctx, it, campaigns.Sent{CarrierMessageID: sid(i), Status: "sending"}, t0.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		// The page each text's current version is on.
		pages := func() map[string]string {
			t.Helper()
			var rows []struct {
				SID  string `db:"carrier_message_id"`
				Page string `db:"page"`
			}
			if err := db.SQL().SelectContext(ctx, &rows, `SELECT carrier_message_id, split_part(trim(ctid::text, '()'), ',', 1) AS page
FROM messages WHERE carrier_message_id LIKE 'SMinplace%'`); err != nil {
				t.Fatal(err)
			}
			out := map[string]string{}
			for _, r := range rows {
				out[r.SID] = r.Page
			}
			return out
		}
		before := pages()
		for i := range items {
			if _, err := db.ApplyStatus(ctx, conversations.StatusUpdate{ChannelID: tn.channel.ID, Carrier: conversations.CarrierTwilio,
				CarrierAccountID: sidA, CarrierMessageID: sid(i), Status: conversations.MessageSent, At: t0.Add(2 * time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
		inPlace := 0
		for s, page := range pages() {
			if before[s] == page {
				inPlace++
			}
		}
		if len(before) != n || inPlace < n/5 {
			t.Errorf("%d of %d texts' receipts were written on their text's page, want at least a fifth", inPlace, len(before))
		}
	})
}
