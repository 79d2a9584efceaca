package store_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
	"github.com/parleyhq/parley/store/storetest"
)

// plan is what the ingester hands the store for a text to the tenant.
func (tn *tenant) plan(t testing.TB, from, body, sid string) conversations.IngestPlan {
	t.Helper()
	route, err := tn.db.FindInboundRoute(ctx, conversations.CarrierTwilio, tn.channel.CarrierAccountID, tn.channel.PhoneNumber, "")
	if err != nil {
		t.Fatal(err)
	}
	return conversations.Plan(route, conversations.InboundText{CarrierMessageID: sid, From: from, To: tn.channel.PhoneNumber, Body: body, Segments: 1}, t0)
}

// TestIngestBatch: texts written in one transaction behave as if each had
// its own: a failing text fails alone, a duplicate in the same batch is
// found, and a phone's texts keep their order.
func TestIngestBatch(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		broken := tn.plan(t, "+14155552003", "to nowhere", newSID("SM"))
		broken.Channel.ID = 987654 // no such channel: the conversation cannot be created
		plans := []conversations.IngestPlan{
			tn.plan(t, "+14155552001", "first", "SMbatch1"),
			broken,
			tn.plan(t, "+14155552002", "hello", newSID("SM")),
			tn.plan(t, "+14155552001", "first", "SMbatch1"), // the carrier's retry
			tn.plan(t, "+14155552001", "second", newSID("SM")),
		}
		results, errs := db.IngestBatch(ctx, plans)
		for i, err := range errs {
			if (err != nil) != (i == 1) {
				t.Errorf("text %d: error %v; want an error only for the text to a missing channel", i, err)
			}
		}
		if !results[0].Created || results[0].Duplicate || !results[3].Duplicate || results[3].Message.ID != results[0].Message.ID {
			t.Errorf("first %+v, retry %+v; want the retry found as the first's duplicate", results[0], results[3])
		}
		if results[4].Conversation.ID != results[0].Conversation.ID || results[4].Created {
			t.Errorf("the phone's second text went to conversation %v, want %v", results[4].Conversation.ID, results[0].Conversation.ID)
		}
		msgs, _, err := db.ListMessages(ctx, tn.account.ID, results[0].Conversation.ID, parley.Page{Limit: 10})
		if err != nil || len(msgs) != 2 || msgs[0].Body != "first" || msgs[1].Body != "second" {
			t.Errorf("thread %+v, %v; want first then second, once each", msgs, err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM conversations`); n != 2 {
			t.Errorf("%d conversations; want 2 (the failed text left nothing)", n)
		}
	})
}

// TestGroupCommitSharesTransactions: on PostgreSQL, texts arriving
// together through Ingest share transactions, and each is written once.
func TestGroupCommitSharesTransactions(t *testing.T) {
	db := storetest.MustOpen(t, "postgres")
	tn := newTenant(t, db, newSID("AC"), bizA)
	const texts = 96
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range texts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			from := fmt.Sprintf("+1415555%04d", 3000+i%48) // two texts per phone
			if _, err := db.Ingest(ctx, tn.plan(t, from, fmt.Sprintf("text %d", i), newSID("SM"))); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	batches, written := db.GroupCommitStats()
	t.Logf("%d texts in %d transactions", written, batches)
	if written != texts || batches >= texts {
		t.Errorf("%d texts in %d transactions; want all %d, sharing transactions", written, batches, texts)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM conversations`); n != 48 {
		t.Errorf("%d conversations, want one per phone (48)", n)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM messages`); n != texts {
		t.Errorf("%d messages, want %d", n, texts)
	}
}
