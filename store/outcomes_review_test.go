package store_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/outcomes"
	"github.com/parleyhq/parley/store"
)

// A suggestion that names no record (issue_resolved) is answered by an
// outcome of its type that links one: it leaves the pending list.
func TestOutcomeWithARecordSettlesASuggestionWithout(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		conv := a.receive(t, text{from: alice, body: "it's broken"}).Conversation
		a.change(t, conv.ID, conversations.ActionReopen, t0)
		a.change(t, conv.ID, conversations.ActionResolve, t0.Add(time.Minute))
		if got := a.pending(t, conv.ID); !slices.Equal(got, []string{"issue_resolved"}) {
			t.Fatalf("after resolve pending = %v; want issue_resolved", got)
		}
		ticket := a.putRecord(t, outcomes.RecordTicket, "T-9", "closed", conv.ID)
		o := a.addOutcome(t, conv.ID, outcomes.IssueResolved, &ticket)
		if got := a.pending(t, conv.ID); len(got) != 0 {
			t.Errorf("after issue_resolved with ticket T-9, pending = %v; want none", got)
		}
		sugs := count(t, db, `SELECT COUNT(*) FROM suggestions WHERE conversation_id = ? AND state = 'accepted' AND outcome_id = ?`, conv.ID, o.ID)
		if sugs != 1 {
			t.Errorf("%d suggestions settled by the outcome, want 1", sugs)
		}
	})
}

// A search finds a title whatever the case of its non-ASCII letters, and
// both databases find the same.
func TestRecordSearchFoldsEveryLetter(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		in := outcomes.RecordInput{Type: outcomes.RecordTicket, ExternalID: "T-1", Title: "Ölwechsel"}
		rec, err := in.Validate(a.account.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.PutRecord(ctx, rec, nil, &a.admin.ID, t0); err != nil {
			t.Fatal(err)
		}
		a.putRecord(t, outcomes.RecordTicket, "*[?\\%_", "", 0)
		for _, q := range []string{"ölw", "ÖLW", "ölWECHSEL", "t-1", "*[?\\%_"} {
			recs, err := db.ListRecords(ctx, outcomes.RecordFilter{AccountID: a.account.ID, Query: q})
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			if len(recs) != 1 {
				t.Errorf("search %q found %d records, want the one", q, len(recs))
			}
		}
		if recs, err := db.ListRecords(ctx, outcomes.RecordFilter{AccountID: a.account.ID, Query: "olw"}); err != nil || len(recs) != 0 {
			t.Errorf("search olw found %d (%v); want none: Ö is not O", len(recs), err)
		}
	})
}

// A record write waiting for one conversation holds none after it: it
// locks the conversations it is linked to and the one it links in id
// order, so that two such writes cannot wait for each other (a deadlock
// on PostgreSQL; SQLite has one writer).
func TestRecordWritesLockConversationsInIDOrder(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		if strings.HasPrefix(db.URL, "sqlite") {
			t.Skip("one writer at a time: nothing to order")
		}
		a := newTenant(t, db, newSID("AC"), bizA)
		first := a.receive(t, text{from: alice, body: "one"}).Conversation
		second := a.receive(t, text{from: bob, body: "two"}).Conversation
		a.putRecord(t, outcomes.RecordQuote, "Q-1", "sent", second.ID)

		// Another writer holds the first conversation.
		holder, err := db.SQL().BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Rollback()
		if _, err := holder.ExecContext(ctx, `SELECT id FROM conversations WHERE id = $1 FOR UPDATE`, first.ID); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, _, err := a.tryPutRecord(outcomes.RecordQuote, "Q-1", "accepted", first.ID)
			done <- err
		}()
		deadline := time.Now().Add(10 * time.Second)
		for count(t, db, `SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the record write never waited for the first conversation")
			}
			time.Sleep(10 * time.Millisecond)
		}
		// Meanwhile the second, which the record is linked to, is free.
		other, err := db.SQL().BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = other.ExecContext(ctx, `SELECT id FROM conversations WHERE id = $1 FOR UPDATE NOWAIT`, second.ID)
		other.Rollback()
		if err != nil {
			t.Errorf("the write waiting for the first conversation holds the second: %v", err)
		}
		holder.Rollback()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := a.pending(t, second.ID); !slices.Equal(got, []string{"quote_accepted:Q-1"}) {
			t.Errorf("pending on the linked conversation = %v, want quote_accepted:Q-1", got)
		}
	})
}
