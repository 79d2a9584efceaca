package store_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/outcomes"
	"github.com/parleyhq/parley/reports"
	"github.com/parleyhq/parley/store"
)

// putRecord writes a record as an integration would, linked to linkTo
// when it is not zero.
func (tn *tenant) putRecord(t testing.TB, typ outcomes.RecordType, ext, status string, linkTo parley.ID) outcomes.Record {
	t.Helper()
	r, _, err := tn.tryPutRecord(typ, ext, status, linkTo)
	if err != nil {
		t.Fatalf("PutRecord(%s %s %s): %v", typ, ext, status, err)
	}
	return r
}

func (tn *tenant) tryPutRecord(typ outcomes.RecordType, ext, status string, linkTo parley.ID) (outcomes.Record, bool, error) {
	in := outcomes.RecordInput{Type: typ, ExternalID: ext, Title: string(typ) + " " + ext, Status: status, Amount: "5000.00", Currency: "USD"}
	rec, err := in.Validate(tn.account.ID)
	if err != nil {
		return rec, false, err
	}
	var to *parley.ID
	if linkTo != 0 {
		to = &linkTo
	}
	return tn.db.PutRecord(ctx, rec, to, &tn.admin.ID, t0)
}

// addOutcome records an outcome as the tenant's admin.
func (tn *tenant) addOutcome(t testing.TB, convID parley.ID, typ outcomes.Type, rec *outcomes.Record) outcomes.Outcome {
	t.Helper()
	n := outcomes.NewOutcome{AccountID: tn.account.ID, ConversationID: convID, Type: typ, Source: outcomes.SourceManual,
		CreatedBy: &tn.admin.ID, At: t0}
	if rec != nil {
		n.RecordID = &rec.ID
	}
	o, created, err := tn.db.CreateOutcome(ctx, n, nil)
	if err != nil || !created {
		t.Fatalf("CreateOutcome(%s): created %v, %v", typ, created, err)
	}
	return o
}

// conv reads a conversation of the tenant.
func (tn *tenant) conv(t testing.TB, id parley.ID) conversations.Conversation {
	t.Helper()
	c, err := tn.db.GetConversation(ctx, tn.account.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// pending lists a conversation's pending suggestions as "type" or
// "type:record external id".
func (tn *tenant) pending(t testing.TB, convID parley.ID) []string {
	t.Helper()
	ss, err := tn.db.ListSuggestions(ctx, tn.account.ID, convID)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, s := range ss {
		name := string(s.Type)
		if s.Record != nil {
			name += ":" + s.Record.ExternalID
		}
		out = append(out, name)
	}
	return out
}

// wantField fails unless err is a parley error of kind naming field.
func wantField(t testing.TB, err error, kind, field string) {
	t.Helper()
	wantKind(t, err, kind)
	var pe *parley.Error
	errors.As(err, &pe)
	if _, ok := pe.Fields[field]; !ok {
		t.Fatalf("err %v names %v; want %s", err, pe.Fields, field)
	}
}

func TestOutcomeIdempotencyKeyReturnsTheFirstOutcome(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		conv := a.receive(t, text{from: alice, body: "how much?"}).Conversation
		n := outcomes.NewOutcome{AccountID: a.account.ID, ConversationID: conv.ID, Type: outcomes.LeadAbandoned, Notes: "went elsewhere",
			Source: outcomes.SourceAPI, IdempotencyKey: "k-1", At: t0}
		first, created, err := db.CreateOutcome(ctx, n, nil)
		if err != nil || !created {
			t.Fatalf("first create: created %v, %v", created, err)
		}
		n.Notes = "a retry with other notes"
		again, created, err := db.CreateOutcome(ctx, n, nil)
		if err != nil || created || again.ID != first.ID || again.Notes != "went elsewhere" {
			t.Fatalf("replay = %+v, created %v, %v; want the first outcome, not created", again, created, err)
		}

		// Concurrent requests with one key record one outcome.
		n.IdempotencyKey = "k-race"
		ids := make([]parley.ID, 8)
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o, _, err := db.CreateOutcome(ctx, n, nil)
				ids[i], errs[i] = o.ID, err
			}()
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("concurrent create %d = %v, %v; want outcome %v", i, ids[i], errs[i], ids[0])
			}
		}
		if got := count(t, db, `SELECT COUNT(*) FROM outcomes WHERE account_id = ?`, a.account.ID); got != 2 {
			t.Errorf("%d outcomes stored, want 2", got)
		}

		// Keys are the account's: another account's same key is its own.
		b := newTenant(t, db, newSID("AC"), bizB)
		bconv := b.receive(t, text{from: alice, body: "hello"}).Conversation
		n.AccountID, n.ConversationID, n.IdempotencyKey = b.account.ID, bconv.ID, "k-1"
		if o, created, err := db.CreateOutcome(ctx, n, nil); err != nil || !created || o.ConversationID != bconv.ID {
			t.Errorf("another account's key k-1: %+v, created %v, %v; want a new outcome", o, created, err)
		}
	})
}

func TestOutcomesOfAnotherAccountAreNotFound(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		b := newTenant(t, db, newSID("AC"), bizB)
		aconv := a.receive(t, text{from: alice, body: "quote please"}).Conversation
		bconv := b.receive(t, text{from: alice, body: "hi"}).Conversation
		quote := a.putRecord(t, outcomes.RecordQuote, "Q-1", "sent", aconv.ID)
		a.putRecord(t, outcomes.RecordQuote, "Q-1", "accepted", 0)
		out := a.addOutcome(t, aconv.ID, outcomes.QuoteSent, &quote)
		ss, err := db.ListSuggestions(ctx, a.account.ID, aconv.ID)
		if err != nil || len(ss) != 1 {
			t.Fatalf("a's suggestions = %v, %v; want quote_accepted", ss, err)
		}
		sug := ss[0]
		B := b.account.ID

		_, err = db.GetRecord(ctx, B, quote.ID)
		wantKind(t, err, parley.ENOTFOUND)
		_, _, err = db.LinkRecord(ctx, B, bconv.ID, quote.ID, &b.admin.ID, t0)
		wantField(t, err, parley.ENOTFOUND, "record_id")
		_, _, err = db.LinkRecord(ctx, B, aconv.ID, quote.ID, &b.admin.ID, t0)
		wantKind(t, err, parley.ENOTFOUND)
		err = db.UnlinkRecord(ctx, B, aconv.ID, quote.ID, &b.admin.ID, t0)
		wantKind(t, err, parley.ENOTFOUND)
		_, _, err = b.tryPutRecord(outcomes.RecordDeal, "D-1", "", aconv.ID)
		wantField(t, err, parley.ENOTFOUND, "conversation_id")
		_, err = db.ListLinks(ctx, B, aconv.ID)
		wantKind(t, err, parley.ENOTFOUND)

		n := outcomes.NewOutcome{AccountID: B, ConversationID: aconv.ID, Type: outcomes.IssueResolved, Source: outcomes.SourceManual, At: t0}
		_, _, err = db.CreateOutcome(ctx, n, nil)
		wantKind(t, err, parley.ENOTFOUND)
		n.ConversationID, n.RecordID = bconv.ID, &quote.ID
		_, _, err = db.CreateOutcome(ctx, n, nil)
		wantField(t, err, parley.ENOTFOUND, "record_id")
		_, err = db.GetOutcome(ctx, B, out.ID)
		wantKind(t, err, parley.ENOTFOUND)
		_, err = db.ListOutcomes(ctx, B, aconv.ID)
		wantKind(t, err, parley.ENOTFOUND)
		_, err = db.DeleteOutcome(ctx, B, out.ID, b.admin.ID, t0)
		wantKind(t, err, parley.ENOTFOUND)

		_, err = db.GetSuggestion(ctx, B, sug.ID)
		wantKind(t, err, parley.ENOTFOUND)
		_, err = db.ListSuggestions(ctx, B, aconv.ID)
		wantKind(t, err, parley.ENOTFOUND)
		_, err = db.AcceptSuggestion(ctx, B, outcomes.Accept{SuggestionID: sug.ID, By: b.admin.ID, At: t0}, nil)
		wantKind(t, err, parley.ENOTFOUND)
		err = db.DismissSuggestion(ctx, B, sug.ID, b.admin.ID, t0)
		wantKind(t, err, parley.ENOTFOUND)

		recs, err := db.ListRecords(ctx, outcomes.RecordFilter{AccountID: B, Query: "Q-1"})
		if err != nil || len(recs) != 0 {
			t.Errorf("b's records matching Q-1 = %v, %v; want none", recs, err)
		}
		// Nothing of a's changed.
		if got := a.pending(t, aconv.ID); !slices.Equal(got, []string{"quote_accepted:Q-1"}) {
			t.Errorf("a's pending suggestions = %v", got)
		}
		if c := a.conv(t, aconv.ID); c.LinksCount != 1 || c.Outcomes != outcomes.MaskOf(outcomes.QuoteSent) {
			t.Errorf("a's conversation links %d, outcomes %v; want 1, quote_sent", c.LinksCount, c.Outcomes.Types())
		}
	})
}

func TestOutcomeRecordMustFitItsType(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		conv := a.receive(t, text{from: alice, body: "the bill?"}).Conversation
		invoice := a.putRecord(t, outcomes.RecordInvoice, "INV-7", "open", 0)
		n := outcomes.NewOutcome{AccountID: a.account.ID, ConversationID: conv.ID, Type: outcomes.QuoteSent, RecordID: &invoice.ID,
			Source: outcomes.SourceManual, CreatedBy: &a.admin.ID, At: t0}
		_, _, err := db.CreateOutcome(ctx, n, nil)
		wantField(t, err, parley.EINVALID, "record_id")
		if c := a.conv(t, conv.ID); c.Outcomes != 0 {
			t.Errorf("a refused outcome left the set %v", c.Outcomes.Types())
		}

		paid := a.addOutcome(t, conv.ID, outcomes.InvoicePaid, &invoice)
		if paid.Record == nil || paid.Record.ExternalID != "INV-7" || paid.Record.Amount == nil || paid.Record.Amount.Units != 500000 {
			t.Errorf("invoice_paid's record = %+v; want INV-7 of 5000.00", paid.Record)
		}
		a.addOutcome(t, conv.ID, outcomes.IssueResolved, &invoice) // any record fits
		a.addOutcome(t, conv.ID, outcomes.QuoteSent, nil)          // as does none
	})
}

func TestOutcomeMaskFollowsCreatesAndDeletes(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		conv := a.receive(t, text{from: alice, body: "quote?"}).Conversation
		quote := a.putRecord(t, outcomes.RecordQuote, "Q-9", "sent", 0)
		first := a.addOutcome(t, conv.ID, outcomes.QuoteSent, &quote)
		second := a.addOutcome(t, conv.ID, outcomes.QuoteSent, nil)
		lead := a.addOutcome(t, conv.ID, outcomes.LeadAbandoned, nil)
		if got := a.conv(t, conv.ID).Outcomes; got != outcomes.MaskOf(outcomes.QuoteSent, outcomes.LeadAbandoned) {
			t.Fatalf("set = %v; want quote_sent, lead_abandoned", got.Types())
		}

		deleted, err := db.DeleteOutcome(ctx, a.account.ID, first.ID, a.admin.ID, t0.Add(time.Minute))
		if err != nil || deleted.DeletedBy == nil || *deleted.DeletedBy != a.admin.ID || deleted.DeletedAt == nil {
			t.Fatalf("delete = %+v, %v; want deleted by the admin", deleted, err)
		}
		if got := a.conv(t, conv.ID).Outcomes; got != outcomes.MaskOf(outcomes.QuoteSent, outcomes.LeadAbandoned) {
			t.Errorf("after deleting one of two quote_sent, set = %v", got.Types())
		}
		if _, err := db.DeleteOutcome(ctx, a.account.ID, second.ID, a.admin.ID, t0); err != nil {
			t.Fatal(err)
		}
		if got := a.conv(t, conv.ID).Outcomes; got != outcomes.MaskOf(outcomes.LeadAbandoned) {
			t.Errorf("after deleting both quote_sent, set = %v; want lead_abandoned", got.Types())
		}
		_, err = db.DeleteOutcome(ctx, a.account.ID, second.ID, a.admin.ID, t0)
		wantKind(t, err, parley.ENOTFOUND)

		live, err := db.ListOutcomes(ctx, a.account.ID, conv.ID)
		if err != nil || len(live) != 1 || live[0].ID != lead.ID {
			t.Errorf("live outcomes = %v, %v; want lead_abandoned alone", live, err)
		}
		// The list of conversations carries the set too.
		list, _, err := db.FindConversations(ctx, conversations.ConversationFilter{AccountID: a.account.ID})
		if err != nil || len(list) != 1 || list[0].Outcomes != outcomes.MaskOf(outcomes.LeadAbandoned) {
			t.Errorf("listed = %v, %v", list, err)
		}

		// The activity log says who deleted what.
		var raw string
		q := `SELECT data FROM conversation_events WHERE conversation_id = ? AND type = 'outcome_deleted' ORDER BY id LIMIT 1`
		if err := db.SQL().GetContext(ctx, &raw, db.SQL().Rebind(q), conv.ID); err != nil {
			t.Fatal(err)
		}
		var data map[string]any
		_ = json.Unmarshal([]byte(raw), &data)
		if data["type"] != "quote_sent" || data["record_title"] != "quote Q-9" {
			t.Errorf("outcome_deleted data = %s; want quote_sent of quote Q-9", raw)
		}
		n := count(t, db, `SELECT COUNT(*) FROM conversation_events WHERE conversation_id = ? AND type = 'outcome_deleted'
AND actor_type = 'user' AND actor_id = ?`, conv.ID, a.admin.ID)
		if n != 2 {
			t.Errorf("%d outcome_deleted entries by the admin, want 2", n)
		}
		if got := typesOf(logOf(t, db, a.account.ID, 0), "outcome."); !slices.Equal(got,
			[]string{"outcome.created", "outcome.created", "outcome.created", "outcome.deleted", "outcome.deleted"}) {
			t.Errorf("outcome events in the log = %v", got)
		}
	})
}

func TestOutcomeKeepsHowTheConversationBegan(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		inbound := a.receive(t, text{from: alice, body: "hello"}).Conversation
		res, err := db.QueueQuickMessage(ctx, campaigns.QuickMessage{AccountID: a.account.ID, Sender: a.admin, ChannelID: a.channel.ID,
			Body: "Your table is ready", At: t0}, []string{bob})
		if err != nil || len(res.Messages) != 1 {
			t.Fatalf("quick message: %+v, %v", res, err)
		}
		quick := res.Messages[0].ConversationID
		res, err = db.QueueQuickMessage(ctx, campaigns.QuickMessage{AccountID: a.account.ID, Sender: a.admin, ChannelID: a.channel.ID,
			Body: "Spring offer", At: t0}, []string{alice2})
		if err != nil {
			t.Fatal(err)
		}
		// A campaign's text names its campaign.
		camp := a.startCampaign(t, campaigns.Audience{Phones: []string{"+14155550999"}}, 1)
		exec(t, db, `UPDATE messages SET campaign_id = ? WHERE conversation_id = ?`, camp.ID, res.Messages[0].ConversationID)
		for _, c := range []struct {
			conv     parley.ID
			origin   reports.Origin
			campaign any
		}{{inbound.ID, reports.OriginInbound, nil}, {quick, reports.OriginQuickMessage, nil},
			{res.Messages[0].ConversationID, reports.OriginCampaign, int64(camp.ID)}} {
			o := a.addOutcome(t, c.conv, outcomes.LeadAbandoned, nil)
			var got struct {
				InboxID    int64  `db:"inbox_id"`
				ChannelID  int64  `db:"channel_id"`
				Origin     string `db:"origin"`
				CampaignID *int64 `db:"origin_campaign_id"`
			}
			if err := db.SQL().GetContext(ctx, &got, db.SQL().Rebind(`SELECT inbox_id, channel_id, origin, origin_campaign_id FROM outcomes WHERE id = ?`), o.ID); err != nil {
				t.Fatal(err)
			}
			var campaign any
			if got.CampaignID != nil {
				campaign = *got.CampaignID
			}
			if got.InboxID != int64(a.inbox.ID) || got.ChannelID != int64(a.channel.ID) || got.Origin != string(c.origin) || campaign != c.campaign {
				t.Errorf("conversation %v's outcome snapshot = %+v (campaign %v); want %s, campaign %v", c.conv, got, campaign, c.origin, c.campaign)
			}
		}
	})
}

func TestLinksKeepTheConversationsCount(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		conv := a.receive(t, text{from: alice, body: "ticket?"}).Conversation
		ticket := a.putRecord(t, outcomes.RecordTicket, "T-1", "open", 0)
		deal := a.putRecord(t, outcomes.RecordDeal, "D-1", "", 0)
		A := a.account.ID

		l, created, err := db.LinkRecord(ctx, A, conv.ID, ticket.ID, &a.admin.ID, t0)
		if err != nil || !created || l.Record.ID != ticket.ID {
			t.Fatalf("link = %+v, created %v, %v", l, created, err)
		}
		if _, created, err = db.LinkRecord(ctx, A, conv.ID, ticket.ID, &a.admin.ID, t0.Add(time.Minute)); err != nil || created {
			t.Fatalf("second link: created %v, %v; want a no-op", created, err)
		}
		if _, _, err = db.LinkRecord(ctx, A, conv.ID, deal.ID, &a.admin.ID, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := a.conv(t, conv.ID).LinksCount; got != 2 {
			t.Errorf("links_count = %d, want 2", got)
		}
		if err := db.UnlinkRecord(ctx, A, conv.ID, ticket.ID, &a.admin.ID, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		wantKind(t, db.UnlinkRecord(ctx, A, conv.ID, ticket.ID, &a.admin.ID, t0.Add(time.Hour)), parley.ENOTFOUND)
		links, err := db.ListLinks(ctx, A, conv.ID)
		if err != nil || len(links) != 1 || links[0].Record.ExternalID != "D-1" {
			t.Errorf("links = %+v, %v; want D-1 alone", links, err)
		}
		if got := a.conv(t, conv.ID).LinksCount; got != 1 {
			t.Errorf("links_count after unlink = %d, want 1", got)
		}
		// Linking on the record's write counts too.
		a.putRecord(t, outcomes.RecordAccount, "ACME", "", conv.ID)
		if got := a.conv(t, conv.ID).LinksCount; got != 2 {
			t.Errorf("links_count after PUT with conversation_id = %d, want 2", got)
		}
		if got := eventTypes(t, db, conv.ID); !slices.Equal(got[1:], []string{"record_linked", "record_linked", "record_unlinked", "record_linked"}) {
			t.Errorf("activity = %v", got)
		}
	})
}

func TestRecordUpsertAndList(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		_, created, err := a.tryPutRecord(outcomes.RecordQuote, "Q-100", "draft", 0)
		if err != nil || !created {
			t.Fatalf("first put: created %v, %v", created, err)
		}
		again, created, err := a.tryPutRecord(outcomes.RecordQuote, "Q-100", "sent", 0)
		if err != nil || created || again.Status != "sent" {
			t.Fatalf("second put = %+v, created %v, %v; want the record updated", again, created, err)
		}
		a.putRecord(t, outcomes.RecordInvoice, "Q-100", "open", 0) // another type, another record
		a.putRecord(t, outcomes.RecordDeal, "big_deal%", "", 0)
		A := a.account.ID
		names := func(f outcomes.RecordFilter) []string {
			t.Helper()
			f.AccountID = A
			recs, err := db.ListRecords(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, r := range recs {
				out = append(out, string(r.Type)+" "+r.ExternalID)
			}
			return out
		}
		if got := names(outcomes.RecordFilter{}); !slices.Equal(got, []string{"deal big_deal%", "invoice Q-100", "quote Q-100"}) {
			t.Errorf("all records = %v; want newest first", got)
		}
		if got := names(outcomes.RecordFilter{Query: "q-1"}); len(got) != 2 {
			t.Errorf("q-1 found %v; want both Q-100s", got)
		}
		if got := names(outcomes.RecordFilter{Query: "%"}); !slices.Equal(got, []string{"deal big_deal%"}) {
			t.Errorf("%% found %v; want the record with a %% alone", got)
		}
		if got := names(outcomes.RecordFilter{Type: outcomes.RecordQuote}); !slices.Equal(got, []string{"quote Q-100"}) {
			t.Errorf("quotes = %v", got)
		}
		firstPage := names(outcomes.RecordFilter{Page: parley.Page{Limit: 2}})
		recs, _ := db.ListRecords(ctx, outcomes.RecordFilter{AccountID: A, Page: parley.Page{Limit: 2}})
		rest := names(outcomes.RecordFilter{Page: parley.Page{Limit: 2, Cursor: recs[1].ID.String()}})
		if !slices.Equal(append(firstPage, rest...), []string{"deal big_deal%", "invoice Q-100", "quote Q-100"}) {
			t.Errorf("pages %v then %v", firstPage, rest)
		}
	})
}

func TestRecordChangesRaiseSuggestions(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		agent := a.staffUser(t, "sam@example.com", conversations.RoleAgent, false)
		conv := a.receive(t, text{from: alice, body: "quote please"}).Conversation
		a.staffAssign(t, a.admin, conv.ID, &agent.ID, t0)
		other := a.receive(t, text{from: bob, body: "me too"}).Conversation

		// A quote linked to both conversations is accepted.
		a.putRecord(t, outcomes.RecordQuote, "Q-1", "sent", conv.ID)
		a.putRecord(t, outcomes.RecordQuote, "Q-1", "sent", other.ID)
		if got := a.pending(t, conv.ID); len(got) != 0 {
			t.Fatalf("a sent quote raised %v", got)
		}
		a.putRecord(t, outcomes.RecordQuote, "Q-1", "accepted", 0)
		a.putRecord(t, outcomes.RecordQuote, "Q-1", "accepted", 0) // no change
		a.putRecord(t, outcomes.RecordQuote, "Q-1", "sent", 0)
		a.putRecord(t, outcomes.RecordQuote, "Q-1", "accepted", 0) // pending already
		for _, id := range []parley.ID{conv.ID, other.ID} {
			if got := a.pending(t, id); !slices.Equal(got, []string{"quote_accepted:Q-1"}) {
				t.Errorf("conversation %v pending = %v; want quote_accepted:Q-1 once", id, got)
			}
		}

		// An invoice whose outcome the conversation has raises nothing.
		inv := a.putRecord(t, outcomes.RecordInvoice, "INV-1", "open", conv.ID)
		a.addOutcome(t, conv.ID, outcomes.InvoicePaid, &inv)
		a.putRecord(t, outcomes.RecordInvoice, "INV-1", "paid", 0)
		// One paid without it raises invoice_paid.
		a.putRecord(t, outcomes.RecordInvoice, "INV-2", "open", conv.ID)
		a.putRecord(t, outcomes.RecordInvoice, "INV-2", "paid", 0)
		// A project linked raises project_created, on the PUT's link or a link.
		a.putRecord(t, outcomes.RecordProject, "P-1", "", conv.ID)
		p2 := a.putRecord(t, outcomes.RecordProject, "P-2", "", 0)
		if _, _, err := db.LinkRecord(ctx, a.account.ID, conv.ID, p2.ID, &a.admin.ID, t0); err != nil {
			t.Fatal(err)
		}
		want := []string{"quote_accepted:Q-1", "invoice_paid:INV-2", "project_created:P-1", "project_created:P-2"}
		if got := a.pending(t, conv.ID); !slices.Equal(got, want) {
			t.Errorf("pending = %v; want %v", got, want)
		}

		// The assignee hears of each; the unassigned conversation's tell no one.
		ns := count(t, db, `SELECT COUNT(*) FROM notifications WHERE user_id = ? AND kind = 'outcome_suggested' AND conversation_id = ?`, agent.ID, conv.ID)
		if ns != len(want) {
			t.Errorf("%d outcome_suggested notifications, want %d", ns, len(want))
		}
		if n := count(t, db, `SELECT COUNT(*) FROM notifications WHERE kind = 'outcome_suggested' AND conversation_id = ?`, other.ID); n != 0 {
			t.Errorf("%d notifications for the unassigned conversation", n)
		}
		if got := typesOf(logOf(t, db, a.account.ID, 0), "suggestion."); len(got) != len(want)+1 {
			t.Errorf("suggestion events = %v; want %d", got, len(want)+1)
		}
	})
}

func TestResolvingRaisesIssueResolved(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		conv := a.receive(t, text{from: alice, body: "it's broken"}).Conversation
		a.change(t, conv.ID, conversations.ActionReopen, t0)
		a.change(t, conv.ID, conversations.ActionResolve, t0.Add(time.Minute))
		if got := a.pending(t, conv.ID); !slices.Equal(got, []string{"issue_resolved"}) {
			t.Fatalf("after resolve pending = %v; want issue_resolved", got)
		}
		a.change(t, conv.ID, conversations.ActionReopen, t0.Add(2*time.Minute))
		a.change(t, conv.ID, conversations.ActionResolve, t0.Add(3*time.Minute))
		if got := a.pending(t, conv.ID); len(got) != 1 {
			t.Errorf("resolved twice: pending = %v; want one", got)
		}

		// Resolved straight from new: the issue is settled too.
		fresh := a.receive(t, text{from: "+14155550142", body: "sorted, thanks"}).Conversation
		a.change(t, fresh.ID, conversations.ActionResolve, t0.Add(time.Minute))
		if got := a.pending(t, fresh.ID); !slices.Equal(got, []string{"issue_resolved"}) {
			t.Errorf("new → resolved: pending = %v; want issue_resolved", got)
		}

		// Closed, then marked resolved: nothing.
		closed := a.receive(t, text{from: bob, body: "spam"}).Conversation
		a.change(t, closed.ID, conversations.ActionReopen, t0)
		a.change(t, closed.ID, conversations.ActionClose, t0)
		a.change(t, closed.ID, conversations.ActionResolve, t0.Add(time.Minute))
		if got := a.pending(t, closed.ID); len(got) != 0 {
			t.Errorf("closed → resolved raised %v", got)
		}

		// With the outcome recorded, a resolve raises nothing.
		done := a.receive(t, text{from: alice2, body: "fixed?"}).Conversation
		a.change(t, done.ID, conversations.ActionReopen, t0)
		a.addOutcome(t, done.ID, outcomes.IssueResolved, nil)
		a.change(t, done.ID, conversations.ActionResolve, t0.Add(time.Minute))
		if got := a.pending(t, done.ID); len(got) != 0 {
			t.Errorf("resolve with the outcome raised %v", got)
		}
	})
}

func TestAcceptAndDismissSuggestions(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		conv := a.receive(t, text{from: alice, body: "quote please"}).Conversation
		A := a.account.ID
		a.putRecord(t, outcomes.RecordQuote, "Q-1", "accepted", conv.ID)
		a.putRecord(t, outcomes.RecordInvoice, "INV-1", "paid", conv.ID)
		a.putRecord(t, outcomes.RecordProject, "P-1", "", conv.ID)
		ss, err := db.ListSuggestions(ctx, A, conv.ID)
		if err != nil || len(ss) != 3 {
			t.Fatalf("suggestions = %v, %v; want 3", ss, err)
		}
		quote, invoice, project := ss[0], ss[1], ss[2]

		// Accepting with another record of the wrong type is refused.
		wrong := a.putRecord(t, outcomes.RecordDeal, "D-1", "", 0)
		_, err = db.AcceptSuggestion(ctx, A, outcomes.Accept{SuggestionID: quote.ID, RecordID: &wrong.ID, By: a.admin.ID, At: t0}, nil)
		wantField(t, err, parley.EINVALID, "record_id")

		o, err := db.AcceptSuggestion(ctx, A, outcomes.Accept{SuggestionID: quote.ID, Notes: "signed",
			Metadata: []byte(`{"amount":"4500.00","currency":"USD"}`), By: a.admin.ID, At: t0},
			&outcomes.Money{Units: 450000, Currency: "USD"})
		if err != nil {
			t.Fatal(err)
		}
		if o.Source != outcomes.SourceSuggestion || o.SuggestionID == nil || *o.SuggestionID != quote.ID || o.Type != outcomes.QuoteAccepted ||
			o.Record == nil || o.Record.ExternalID != "Q-1" || o.Notes != "signed" || o.Amount == nil || o.Amount.Units != 450000 {
			t.Errorf("accepted outcome = %+v", o)
		}
		settled, err := db.GetSuggestion(ctx, A, quote.ID)
		if err != nil || settled.State != outcomes.SuggestionAccepted || settled.OutcomeID == nil || *settled.OutcomeID != o.ID {
			t.Errorf("accepted suggestion = %+v, %v", settled, err)
		}
		_, err = db.AcceptSuggestion(ctx, A, outcomes.Accept{SuggestionID: quote.ID, By: a.admin.ID, At: t0}, nil)
		wantKind(t, err, parley.ECONFLICT)

		// An outcome recorded by hand settles the suggestion it answers.
		inv := *invoice.Record
		manual := a.addOutcome(t, conv.ID, outcomes.InvoicePaid, &inv)
		if s, _ := db.GetSuggestion(ctx, A, invoice.ID); s.State != outcomes.SuggestionAccepted || s.OutcomeID == nil || *s.OutcomeID != manual.ID {
			t.Errorf("invoice suggestion after the manual outcome = %+v", s)
		}

		if err := db.DismissSuggestion(ctx, A, project.ID, a.admin.ID, t0); err != nil {
			t.Fatal(err)
		}
		wantKind(t, db.DismissSuggestion(ctx, A, project.ID, a.admin.ID, t0), parley.ECONFLICT)
		_, err = db.AcceptSuggestion(ctx, A, outcomes.Accept{SuggestionID: project.ID, By: a.admin.ID, At: t0}, nil)
		wantKind(t, err, parley.ECONFLICT)
		if got := a.pending(t, conv.ID); len(got) != 0 {
			t.Errorf("pending after accept and dismiss = %v", got)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM conversation_events WHERE conversation_id = ? AND type = 'suggestion_dismissed' AND actor_id = ?`,
			conv.ID, a.admin.ID); n != 1 {
			t.Errorf("%d suggestion_dismissed entries, want 1", n)
		}
		if got := a.conv(t, conv.ID).Outcomes; got != outcomes.MaskOf(outcomes.QuoteAccepted, outcomes.InvoicePaid) {
			t.Errorf("set = %v", got.Types())
		}
	})
}

// typesOf lists the log's event types that start with prefix.
func typesOf(evs []events.Event, prefix string) []string {
	out := []string{}
	for _, e := range evs {
		if strings.HasPrefix(string(e.Type), prefix) {
			out = append(out, string(e.Type))
		}
	}
	return out
}
