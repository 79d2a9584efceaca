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
		// Taken before the texts are written, the snapshot keeps the
		// versions the acceptances replace, so no page frees their space
		// before the receipts come.
		holdSnapshot(t, db, "messages")
		tn := newTenant(t, db, sidA, bizA)
		items := tn.sendCampaign(t, n, t0)
		ids := make([]parley.ID, len(items))
		for i, it := range items {
			ids[i] = it.MessageID
		}
		pages := func() map[parley.ID]string { return pagesOf(t, db, "messages", ids) }
		before := pages()
		for _, id := range ids {
			if _, err := db.ApplyStatus(ctx, conversations.StatusUpdate{ChannelID: tn.channel.ID, Carrier: conversations.CarrierTwilio,
				CarrierAccountID: sidA, CarrierMessageID: outboundMessage(t, db, id).CarrierMessageID,
				Status: conversations.MessageSent, At: t0.Add(2 * time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
		inPlace := samePage(before, pages())
		if len(before) != n || inPlace < n/5 {
			t.Errorf("%d of %d texts' receipts were written on their text's page, want at least a fifth", inPlace, len(before))
		}
	})
}

// TestClaimsRewriteTheOutboxInPlace: a claim changes no indexed column of
// its outbox row, and the outbox's pages keep half their room, so most
// claims write the row's new version on its own page (a HOT update)
// even while another transaction's snapshot keeps the old versions.
// Packed full, as the rows of a campaign tick were, none did.
func TestClaimsRewriteTheOutboxInPlace(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		if db.Dialect() != "postgres" {
			t.Skip("PostgreSQL's row versions only")
		}
		const n = 300
		holdSnapshot(t, db, "outbox")
		tn := newTenant(t, db, sidA, bizA)
		tn.queueCampaign(t, n, t0)
		var ids []parley.ID
		if err := db.SQL().SelectContext(ctx, &ids, `SELECT id FROM outbox WHERE account_id = $1`, tn.account.ID); err != nil {
			t.Fatal(err)
		}
		before := pagesOf(t, db, "outbox", ids)
		if got := len(claim(t, db, t0.Add(time.Second), n)); got != n {
			t.Fatalf("claimed %d of %d queued texts", got, n)
		}
		inPlace := samePage(before, pagesOf(t, db, "outbox", ids))
		if len(before) != n || inPlace < n/2 {
			t.Errorf("%d of %d claims were written on their row's page, want at least half", inPlace, len(before))
		}
	})
}

// samePage counts the rows whose current version is on the page it was
// on before.
func samePage(before, after map[parley.ID]string) int {
	n := 0
	for id, page := range after {
		if before[id] == page {
			n++
		}
	}
	return n
}

// holdSnapshot keeps another transaction's snapshot open until the test
// ends, as traffic does: no version written after it can be pruned.
func holdSnapshot(t testing.TB, db *store.DB, table string) {
	t.Helper()
	reader, err := db.SQL().BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reader.Rollback() })
	if _, err := reader.ExecContext(ctx, `SELECT COUNT(*) FROM `+table); err != nil {
		t.Fatal(err)
	}
}

// pagesOf maps each of a table's rows among ids to the page its current
// version is on.
func pagesOf(t testing.TB, db *store.DB, table string, ids []parley.ID) map[parley.ID]string {
	t.Helper()
	var rows []struct {
		ID   parley.ID `db:"id"`
		Page string    `db:"page"`
	}
	if err := db.SQL().SelectContext(ctx, &rows, `SELECT id, split_part(trim(ctid::text, '()'), ',', 1) AS page
FROM `+table+` WHERE id = ANY($1)`, pq.Array(ids)); err != nil {
		t.Fatal(err)
	}
	out := map[parley.ID]string{}
	for _, r := range rows {
		out[r.ID] = r.Page
	}
	return out
}
