package store_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/outcomes"
	"github.com/parleyhq/parley/store"
	"github.com/parleyhq/parley/store/devdb"
)

// TestFindConversationsByOutcome: outcome= keeps the conversations with
// any of the types, outcome_absent= those with none of them, alone and
// with the other filters and a search; a deleted outcome's type leaves
// the list once the conversation's set no longer has it.
func TestFindConversationsByOutcome(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)
		at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
		quoted := a.receive(t, text{from: "+14155550301", body: "a quote for the roof", at: at(1)}).Conversation
		paid := a.receive(t, text{from: "+14155550302", body: "the quote is fine, invoice me", at: at(2)}).Conversation
		lost := a.receive(t, text{from: "+14155550303", body: "too expensive", at: at(3)}).Conversation
		none := a.receive(t, text{from: "+14155550304", body: "just asking about a quote", at: at(4)}).Conversation
		other := b.receive(t, text{from: "+14155550305", body: "another account's quote", at: at(5)}).Conversation
		setStatus(t, db, paid.ID, conversations.StatusOpen, &a.admin.ID)
		setMask := func(id parley.ID, m outcomes.Mask, links int) {
			exec(t, db, `UPDATE conversations SET outcome_mask = ?, links_count = ? WHERE id = ?`, int64(m), links, id)
		}
		setMask(quoted.ID, outcomes.MaskOf(outcomes.QuoteSent), 1)
		setMask(paid.ID, outcomes.MaskOf(outcomes.QuoteSent, outcomes.InvoicePaid), 2)
		setMask(lost.ID, outcomes.MaskOf(outcomes.LeadAbandoned), 0)
		setMask(other.ID, outcomes.MaskOf(outcomes.QuoteSent), 0)

		all := outcomes.MaskOf(outcomes.Types...)
		type filter = conversations.ConversationFilter
		list := func(t *testing.T, f filter) []conversations.Conversation {
			t.Helper()
			f.AccountID = a.account.ID
			convs, _, err := db.FindConversations(ctx, f)
			if err != nil {
				t.Fatalf("FindConversations: %v", err)
			}
			return convs
		}
		tests := []struct {
			name string
			f    filter
			want []parley.ID
		}{
			{"outcome=invoice_paid", filter{OutcomesAny: outcomes.MaskOf(outcomes.InvoicePaid)}, []parley.ID{paid.ID}},
			{"outcome=quote_sent,lead_abandoned", filter{OutcomesAny: outcomes.MaskOf(outcomes.QuoteSent, outcomes.LeadAbandoned)},
				[]parley.ID{lost.ID, paid.ID, quoted.ID}},
			{"outcome=project_created (nobody's)", filter{OutcomesAny: outcomes.MaskOf(outcomes.ProjectCreated)}, nil},
			{"outcome_absent=every type", filter{OutcomesAbsent: all}, []parley.ID{none.ID}},
			{"outcome_absent=quote_sent", filter{OutcomesAbsent: outcomes.MaskOf(outcomes.QuoteSent)}, []parley.ID{none.ID, lost.ID}},
			{"outcome=quote_sent outcome_absent=invoice_paid",
				filter{OutcomesAny: outcomes.MaskOf(outcomes.QuoteSent), OutcomesAbsent: outcomes.MaskOf(outcomes.InvoicePaid)}, []parley.ID{quoted.ID}},
			{"outcome with status", filter{OutcomesAny: outcomes.MaskOf(outcomes.QuoteSent), Statuses: []conversations.Status{conversations.StatusNew}},
				[]parley.ID{quoted.ID}},
			{"outcome with assignee", filter{OutcomesAny: outcomes.MaskOf(outcomes.QuoteSent), AssigneeID: a.admin.ID}, []parley.ID{paid.ID}},
			{"outcome unassigned", filter{OutcomesAny: outcomes.MaskOf(outcomes.QuoteSent), Unassigned: true}, []parley.ID{quoted.ID}},
			{"outcome in an inbox", filter{OutcomesAny: outcomes.MaskOf(outcomes.LeadAbandoned), InboxID: a.inbox.ID}, []parley.ID{lost.ID}},
			{"outcome_absent with assignee", filter{OutcomesAbsent: all, AssigneeID: a.admin.ID}, nil},
			{"outcome_absent with status", filter{OutcomesAbsent: outcomes.MaskOf(outcomes.InvoicePaid),
				Statuses: []conversations.Status{conversations.StatusNew}}, []parley.ID{none.ID, lost.ID, quoted.ID}},
			{"q=quote outcome=invoice_paid", filter{Query: "quote", OutcomesAny: outcomes.MaskOf(outcomes.InvoicePaid)}, []parley.ID{paid.ID}},
			{"q=quote outcome_absent=every type", filter{Query: "quote", OutcomesAbsent: all}, []parley.ID{none.ID}},
			{"q=expensive outcome=quote_sent", filter{Query: "expensive", OutcomesAny: outcomes.MaskOf(outcomes.QuoteSent)}, nil},
			{"q=phone outcome=quote_sent", filter{Query: "+14155550302", OutcomesAny: outcomes.MaskOf(outcomes.QuoteSent)}, []parley.ID{paid.ID}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := conversationIDs(list(t, tt.f)); !slices.Equal(got, tt.want) {
					t.Errorf("listed %v, want %v", got, tt.want)
				}
			})
		}

		// Each listed conversation carries its set and its links.
		got := list(t, filter{OutcomesAny: outcomes.MaskOf(outcomes.InvoicePaid)})
		if len(got) != 1 || got[0].Outcomes != outcomes.MaskOf(outcomes.QuoteSent, outcomes.InvoicePaid) || got[0].LinksCount != 2 {
			t.Errorf("the paid conversation reads %+v; want quote_sent and invoice_paid with 2 links", got)
		}

		// invoice_paid deleted: the set loses it, and so do the lists.
		setMask(paid.ID, outcomes.MaskOf(outcomes.QuoteSent), 2)
		if got := conversationIDs(list(t, filter{OutcomesAny: outcomes.MaskOf(outcomes.InvoicePaid)})); len(got) != 0 {
			t.Errorf("outcome=invoice_paid after the delete lists %v", got)
		}
		if got := conversationIDs(list(t, filter{OutcomesAbsent: outcomes.MaskOf(outcomes.InvoicePaid)})); !slices.Contains(got, paid.ID) {
			t.Errorf("outcome_absent=invoice_paid after the delete lists %v, without the conversation", got)
		}
	})
}

// TestOutcomeListsMatchAScan: on a seeded inbox, every plan a list can
// take (on PostgreSQL: the statistics' capped hits, the recency window,
// the recent index, all hits) keeps exactly the conversations of the
// unfiltered list whose outcome set passes the filter.
func TestOutcomeListsMatchAScan(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a, res := seededTenant(t, db, onePlanShare(db, devdb.SeedSpec{Conversations: 3000, Messages: 15000, Agents: 3, Outcomes: 900, Seed: 17}))
		a.receive(t, text{from: "+14155550111", body: "the gutter leaks"})
		if _, err := db.SQL().ExecContext(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
		masks := map[parley.ID]outcomes.Mask{}
		rows, err := db.SQL().QueryContext(ctx, db.SQL().Rebind(`SELECT id, outcome_mask FROM conversations WHERE account_id = ?`), a.account.ID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id parley.ID
			var m int64
			if err := rows.Scan(&id, &m); err != nil {
				t.Fatal(err)
			}
			masks[id] = outcomes.Mask(m)
		}
		rows.Close()

		listAll := func(t *testing.T, f conversations.ConversationFilter, limit int) []parley.ID {
			t.Helper()
			f.AccountID, f.Page = a.account.ID, conversations.Page{Limit: limit}
			var ids []parley.ID
			for pages := 0; pages < 200; pages++ {
				page, next, err := db.FindConversations(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, conversationIDs(page)...)
				if next == "" {
					break
				}
				f.Page.Cursor = next
			}
			return ids
		}
		paid, sent := outcomes.MaskOf(outcomes.InvoicePaid), outcomes.MaskOf(outcomes.QuoteSent, outcomes.LeadAbandoned)
		outcomeFilters := []struct{ any, absent outcomes.Mask }{
			{any: paid}, {any: sent}, {absent: outcomes.MaskOf(outcomes.Types...)}, {any: sent, absent: paid},
		}
		views := []conversations.ConversationFilter{{}, {AssigneeID: res.AgentIDs[0]}, {Unassigned: true}, {InboxID: res.InboxID},
			{Statuses: []conversations.Status{"new", "open"}}}
		queries := []string{"", "gutter", "quote", "hopper", "ada hopper", "0042"}
		check := func(t *testing.T, limit int) {
			for _, v := range views {
				for _, q := range queries {
					f := v
					f.Query = q
					whole := listAll(t, f, conversations.MaxPageLimit)
					for _, o := range outcomeFilters {
						var want []parley.ID
						for _, id := range whole {
							if (o.any == 0 || masks[id]&o.any != 0) && masks[id]&o.absent == 0 {
								want = append(want, id)
							}
						}
						if len(want) > 60*limit {
							continue // too many pages
						}
						f.OutcomesAny, f.OutcomesAbsent = o.any, o.absent
						if got := listAll(t, f, limit); !slices.Equal(got, want) {
							t.Errorf("%+v q=%q outcome=%b outcome_absent=%b: got %d conversations, want %d (first difference at %d)",
								v, q, o.any, o.absent, len(got), len(want), firstDifference(got, want))
						}
					}
				}
			}
		}
		check(t, 37)
		if db.Dialect() != "postgres" {
			return
		}
		db.PlanSearchesWithoutStatistics()
		check(t, 37)
		if err := db.RebuildRecentSearch(ctx, 0.9, t0); err != nil {
			t.Fatal(err)
		}
		db.ForgetSearchStatistics()
		check(t, 5)
	})
}

// TestOutcomeListWalksItsIndex: the list of conversations with an outcome
// walks conversations_with_outcomes, which holds those alone, rather than
// every conversation of the account by activity; the list without walks
// by activity.
func TestOutcomeListWalksItsIndex(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a, _ := seededTenant(t, db, devdb.SeedSpec{Conversations: 3000, Messages: 6000, Agents: 3, Outcomes: 300, Seed: 5})
		if _, err := db.SQL().ExecContext(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
		for _, f := range []conversations.ConversationFilter{
			{OutcomesAny: outcomes.MaskOf(outcomes.InvoicePaid)},
			{OutcomesAny: outcomes.MaskOf(outcomes.QuoteSent, outcomes.QuoteAccepted), Page: conversations.Page{Cursor: cursorAfterFirstPage(t, db, a)}},
		} {
			f.AccountID = a.account.ID
			plan, err := explainList(t, db, f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(plan, "conversations_with_outcomes") {
				t.Errorf("outcome=%v does not walk conversations_with_outcomes:\n%s", f.OutcomesAny.Types(), plan)
			}
		}
		// Most conversations have no outcome: outcome_absent= walks the
		// list's order and stops at the page, never sorting every match.
		for _, absent := range []outcomes.Mask{outcomes.MaskOf(outcomes.Types...), outcomes.MaskOf(outcomes.InvoicePaid)} {
			plan, err := explainList(t, db, conversations.ConversationFilter{AccountID: a.account.ID, OutcomesAbsent: absent})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(plan, "Sort Key") || strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("outcome_absent=%v sorts its matches:\n%s", absent.Types(), plan)
			}
		}
	})
}

// cursorAfterFirstPage is the cursor of outcome=quote_sent,quote_accepted's
// second page.
func cursorAfterFirstPage(t *testing.T, db *store.DB, a *tenant) string {
	t.Helper()
	_, next, err := db.FindConversations(ctx, conversations.ConversationFilter{AccountID: a.account.ID,
		OutcomesAny: outcomes.MaskOf(outcomes.QuoteSent, outcomes.QuoteAccepted)})
	if err != nil || next == "" {
		t.Fatalf("no second page: %v", err)
	}
	return next
}
