package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/outcomes"
	"github.com/parleyhq/parley/reports"
	"github.com/parleyhq/parley/reports/export"
	"github.com/parleyhq/parley/store"
)

// exportAll runs an export with a limit that lets it through and returns
// its rows.
func exportAll(t *testing.T, db *store.DB, x reports.Export) [][]any {
	t.Helper()
	var rows [][]any
	begun := 0
	err := db.ExportRows(ctx, x, 1_000_000, func() error { begun++; return nil }, func(v []any) error {
		if begun != 1 {
			t.Fatalf("row before begin")
		}
		if len(v) != len(x.Columns()) {
			t.Fatalf("%s: row of %d values for %d columns", x.Report(), len(v), len(x.Columns()))
		}
		rows = append(rows, v)
		return nil
	})
	if err != nil {
		t.Fatalf("export %s: %v", x.Report(), err)
	}
	if begun != 1 {
		t.Fatalf("export %s: begin called %d times", x.Report(), begun)
	}
	return rows
}

// bulkMessages inserts n inbound texts into conv set-wise, three per
// millisecond from at, so that keyset pages end inside a tie.
func bulkMessages(t testing.TB, db *store.DB, conv conversations.Conversation, n int, at time.Time) {
	t.Helper()
	exec(t, db, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO messages (account_id, conversation_id, channel_id, direction, kind, body, status, created_at, updated_at)
SELECT ?, ?, ?, 'inbound', 'text', 'bulk', 'received', CAST(? AS BIGINT) + i / 3, CAST(? AS BIGINT) + i / 3 FROM n`,
		n, conv.AccountID, conv.ID, conv.ChannelID, at.UnixMilli(), at.UnixMilli())
}

// TestExportRowsMatchReports: each export gives the rows its report or
// list has, each once, in order; the outbound_audit export is the audit.
func TestExportRowsMatchReports(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		x := newOutboundFixture(t, db)
		acc := x.a.account.ID
		whole := func() (time.Time, time.Time) { return t0.AddDate(0, 0, -1), t0.AddDate(0, 1, 0) }

		t.Run("outbound_audit", func(t *testing.T) {
			for _, c := range outboundCases() {
				f := x.f
				c.apply(&f, x)
				rows := exportAll(t, db, f)
				audit := allAudit(t, db, f, reports.MaxAuditPage)
				want := make([][]any, len(audit))
				for i, r := range audit {
					want[i] = r.Values()
				}
				if len(rows) != len(want) || (len(rows) > 0 && !reflect.DeepEqual(fmt.Sprint(rows), fmt.Sprint(want))) {
					t.Errorf("%s: export %v; want the audit's rows %v", c.name, rows, want)
				}
				if rep := outboundReport(t, db, f); int64(len(rows)) != rep.Totals.Sends {
					t.Errorf("%s: %d rows; the summary counts %d sends", c.name, len(rows), rep.Totals.Sends)
				}
			}
		})

		t.Run("messages", func(t *testing.T) {
			bulkMessages(t, db, x.alice, 2500, t0.Add(48*time.Hour))
			from, to := whole()
			mx := reports.MessagesExport{AccountID: acc, From: from, To: to}
			rows := exportAll(t, db, mx)
			want := count(t, db, `SELECT COUNT(*) FROM messages WHERE account_id = ? AND created_at >= ? AND created_at < ?`, acc, from.UnixMilli(), to.UnixMilli())
			if len(rows) != want || want < 2500 {
				t.Fatalf("messages export: %d rows; want %d", len(rows), want)
			}
			seen := map[string]bool{}
			var prev time.Time
			for _, r := range rows {
				id, at := r[0].(string), r[1].(time.Time)
				if seen[id] || at.Before(prev) {
					t.Fatalf("message %s at %v: repeated or out of order (after %v)", id, at, prev)
				}
				seen[id], prev = true, at
			}
			out := exportAll(t, db, reports.MessagesExport{AccountID: acc, From: from, To: to, Direction: conversations.Outbound})
			if len(out) != 8 {
				t.Errorf("outbound messages: %d; want the 8 sends' texts", len(out))
			}
			for _, r := range out {
				if r[10] == "" {
					t.Errorf("message %v without the contact's phone", r)
				}
			}
			ch2 := x.ch2.ID
			if got := exportAll(t, db, reports.MessagesExport{AccountID: acc, From: from, To: to, ChannelID: &ch2}); len(got) != 3 {
				t.Errorf("second channel's messages: %d; want carol's text and 2 sends", len(got))
			}
			if got := exportAll(t, db, reports.MessagesExport{AccountID: acc, From: from, To: to, CampaignID: &x.autumn}); len(got) != 2 {
				t.Errorf("autumn's messages: %d; want 2", len(got))
			}
			bobID := x.bob.ID
			if got := exportAll(t, db, reports.MessagesExport{AccountID: acc, From: from, To: to, ConversationID: &bobID}); len(got) != 3 {
				t.Errorf("bob's messages: %d; want his text and 2 sends", len(got))
			}

			// inbox_id is the conversation's inbox: bob's moves to Sales.
			sales, err := db.CreateInbox(ctx, conversations.Inbox{AccountID: acc, Name: "Sales", Kind: conversations.InboxSales, CreatedAt: t0})
			if err != nil {
				t.Fatal(err)
			}
			exec(t, db, `UPDATE conversations SET inbox_id = ? WHERE id = ?`, sales.ID, x.bob.ID)
			support := x.a.inbox.ID
			if got := exportAll(t, db, reports.MessagesExport{AccountID: acc, From: from, To: to, InboxID: &sales.ID}); len(got) != 3 || got[0][2] != x.bob.ID.String() {
				t.Errorf("Sales' messages: %d; want bob's 3", len(got))
			}
			if got := exportAll(t, db, reports.MessagesExport{AccountID: acc, From: from, To: to, InboxID: &support}); len(got) != want-3 {
				t.Errorf("Support's messages: %d; want all %d but bob's 3", len(got), want)
			}
			if got := exportAll(t, db, reports.MessagesExport{AccountID: acc, From: from, To: to, InboxID: &sales.ID, ChannelID: &ch2}); len(got) != 0 {
				t.Errorf("Sales' messages on the second channel: %d; want none", len(got))
			}
			other := x.a.inbox.ID + 1000
			if got := exportAll(t, db, reports.MessagesExport{AccountID: acc, From: from, To: to, InboxID: &other}); len(got) != 0 {
				t.Errorf("an inbox with no conversations: %d messages", len(got))
			}
			exec(t, db, `UPDATE conversations SET inbox_id = ? WHERE id = ?`, support, x.bob.ID)
		})

		t.Run("conversations", func(t *testing.T) {
			exec(t, db, `INSERT INTO conversation_tags (account_id, conversation_id, tag_id, applied_at) VALUES (?, ?, ?, ?)`, acc, x.alice.ID, x.sale.ID, t0.UnixMilli())
			exec(t, db, `UPDATE conversations SET final_tag_id = ?, final_tag_type = ? WHERE id = ?`, x.lost.ID, "negative", x.bob.ID)
			from, to := whole()
			all := reports.ConversationsExport{From: from, To: to, Filter: conversations.ConversationFilter{AccountID: acc}}
			rows := exportAll(t, db, all)
			listed, _, err := db.FindConversations(ctx, conversations.ConversationFilter{AccountID: acc, Page: conversations.Page{Limit: 100}})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(listed) || len(rows) != 4 {
				t.Fatalf("conversations export: %d rows; the list has %d", len(rows), len(listed))
			}
			byID := map[string][]any{}
			for _, r := range rows {
				byID[r[0].(string)] = r
			}
			if r := byID[x.alice.ID.String()]; r[12] != export.Text("Sale") || r[9] != alice {
				t.Errorf("alice's row = %v; want tag Sale and her phone", r)
			}
			if r := byID[x.bob.ID.String()]; r[13] != export.Text("Lost") || r[14] != "negative" {
				t.Errorf("bob's row = %v; want final tag Lost (negative)", r)
			}
			sale := x.sale.ID
			tagged := all
			tagged.Filter.TagID = &sale
			if got := exportAll(t, db, tagged); len(got) != 1 || got[0][0] != x.alice.ID.String() {
				t.Errorf("tag filter: %v; want alice's conversation", got)
			}
			inCh2 := all
			inCh2.Filter.FinalTagType = conversations.TagNegative
			if got := exportAll(t, db, inCh2); len(got) != 1 || got[0][0] != x.bob.ID.String() {
				t.Errorf("final tag type filter: %v; want bob's conversation", got)
			}
			ch2 := x.ch2.ID
			onCh2 := all
			onCh2.ChannelID = &ch2
			if got := exportAll(t, db, onCh2); len(got) != 1 || got[0][0] != x.carol.ID.String() || got[0][6] != ch2.String() {
				t.Errorf("channel filter: %v; want carol's conversation", got)
			}
			onCh2.Filter.InboxID = x.a.inbox.ID + 1000
			if got := exportAll(t, db, onCh2); len(got) != 0 {
				t.Errorf("channel and another inbox: %v; want none", got)
			}
			later := all
			later.From = t0.Add(time.Minute)
			if got := exportAll(t, db, later); len(got) != 0 {
				t.Errorf("range after their creation: %d rows", len(got))
			}
		})

		t.Run("outcomes", func(t *testing.T) {
			for i := 0; i < 5; i++ {
				insertReportOutcome(t, db, acc, reportOutcome{conv: x.alice.ID, typ: outcomes.QuoteSent, at: t0.Add(time.Duration(i) * time.Hour)})
			}
			insertReportOutcome(t, db, acc, reportOutcome{conv: x.alice.ID, typ: outcomes.QuoteSent, at: t0, deleted: true})
			from, to := whole()
			f := reports.OutcomesFilter{AccountID: acc, From: from, To: to, Interval: reports.Day}
			rows := exportAll(t, db, f)
			var each int
			if err := db.EachOutcomeRow(ctx, f, func(reports.OutcomeRow) error { each++; return nil }); err != nil {
				t.Fatal(err)
			}
			n, err := db.CountOutcomeRows(ctx, f, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 5 || each != 5 || n != 5 {
				t.Errorf("outcomes: export %d, EachOutcomeRow %d, CountOutcomeRows %d; want the 5 live ones", len(rows), each, n)
			}
		})
	})
}

// TestExportRowsRefusesOverLimit: one row over the limit is refused with
// too_many_rows before anything is written; at the limit it goes through.
func TestExportRowsRefusesOverLimit(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		x := newOutboundFixture(t, db)
		acc := x.a.account.ID
		from, to := t0.AddDate(0, 0, -1), t0.AddDate(0, 1, 0)
		for _, e := range []struct {
			x reports.Export
			n int
		}{
			{x.f, 6},
			{reports.MessagesExport{AccountID: acc, From: from, To: to}, count(t, db, `SELECT COUNT(*) FROM messages WHERE account_id = ?`, acc)},
			{reports.ConversationsExport{From: from, To: to, Filter: conversations.ConversationFilter{AccountID: acc}}, 4},
		} {
			called := false
			err := db.ExportRows(ctx, e.x, e.n-1, func() error { called = true; return nil }, func([]any) error { called = true; return nil })
			var perr *parley.Error
			if !errors.As(err, &perr) || perr.Code != "too_many_rows" || called {
				t.Errorf("%s over the limit: err %v, called %v; want too_many_rows and nothing called", e.x.Report(), err, called)
			}
			n := 0
			if err := db.ExportRows(ctx, e.x, e.n, func() error { return nil }, func([]any) error { n++; return nil }); err != nil || n != e.n {
				t.Errorf("%s at the limit: %d rows, %v; want %d", e.x.Report(), n, err, e.n)
			}
		}
	})
}

// TestExportRowsCancel: cancelling the request stops the export at once,
// and a request cancelled before it starts writes nothing.
func TestExportRowsCancel(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		x := newOutboundFixture(t, db)
		bulkMessages(t, db, x.alice, 3000, t0.Add(time.Hour))
		mx := reports.MessagesExport{AccountID: x.a.account.ID, From: t0.AddDate(0, 0, -1), To: t0.AddDate(0, 1, 0)}
		c, cancel := context.WithCancel(ctx)
		n := 0
		err := db.ExportRows(c, mx, 1_000_000, func() error { return nil }, func([]any) error {
			n++
			if n == 10 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) || n != 10 {
			t.Errorf("cancelled after 10 rows: %d rows, err %v; want 10 and context.Canceled", n, err)
		}
		begun := false
		err = db.ExportRows(c, mx, 1_000_000, func() error { begun = true; return nil }, func([]any) error { return nil })
		if err == nil || begun {
			t.Errorf("cancelled before: err %v, begun %v; want an error and nothing begun", err, begun)
		}
	})
}
