package store_test

import (
	"sync"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

// TestConcurrentQuickMessagesToANewPhone: twenty staff members text the
// same new phone at once; every text is queued, in one conversation of
// one contact, instead of all but the first failing on the conversation
// the first created.
func TestConcurrentQuickMessagesToANewPhone(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		const senders, phone = 20, "+14155550777"
		results := make([]campaigns.QuickResult, senders)
		errs := make([]error, senders)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i], errs[i] = db.QueueQuickMessage(ctx, campaigns.QuickMessage{AccountID: tn.account.ID, Sender: tn.admin,
					ChannelID: tn.channel.ID, Body: "Your table is ready", At: t0}, []string{phone})
			}()
		}
		close(start)
		wg.Wait()
		conversations := map[parley.ID]bool{}
		for i := range senders {
			if errs[i] != nil {
				t.Fatalf("quick message %d: %v", i, errs[i])
			}
			if len(results[i].Messages) != 1 {
				t.Fatalf("quick message %d queued %v, skipped %v; want its text queued", i, results[i].Messages, results[i].Skipped)
			}
			conversations[results[i].Messages[0].ConversationID] = true
		}
		if len(conversations) != 1 {
			t.Errorf("the texts went to %d conversations, want one", len(conversations))
		}
		for id := range conversations {
			// The contact has not written: the thread waits for them.
			if c, err := db.GetConversation(ctx, tn.account.ID, id); err != nil || c.LastInboundAt != nil || !c.LastMessageAt.Equal(t0) {
				t.Errorf("the thread's last inbound %v, last message %v (%v); want none and %v", c.LastInboundAt, c.LastMessageAt, err, t0)
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM contact_phones WHERE account_id = ? AND phone = ?`, tn.account.ID, phone); n != 1 {
			t.Errorf("the phone belongs to %d contacts, want one", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM contacts WHERE account_id = ?`, tn.account.ID); n != 1 {
			t.Errorf("%d contacts, want one", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM messages WHERE account_id = ? AND direction = 'outbound'`, tn.account.ID); n != senders {
			t.Errorf("%d texts stored, want %d", n, senders)
		}
	})
}

// TestQuickMessageFillsEachRecipientsFields: a quick message's body is a
// template, as a campaign's is: each recipient's text, and its segments,
// are the body filled in from the phone's contact, with the fallback for
// a phone nobody has named.
func TestQuickMessageFillsEachRecipientsFields(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		const known, unknown = "+14155550781", "+14155550782"
		ada, err := db.CreateContact(ctx, conversations.Contact{AccountID: tn.account.ID, Name: "Ada Lovelace", Phones: []string{known},
			Attributes: map[string]any{"table": float64(12)}, CreatedAt: t0, UpdatedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		res, err := db.QueueQuickMessage(ctx, campaigns.QuickMessage{AccountID: tn.account.ID, Sender: tn.admin, ChannelID: tn.channel.ID,
			Body: "Hi {{first_name|there}}, table {{attributes.table|soon}} is ready 🍽", ContactIDs: []parley.ID{ada.ID}, At: t0},
			[]string{unknown})
		if err != nil || len(res.Messages) != 2 {
			t.Fatalf("QueueQuickMessage = %+v, %v; want two texts", res, err)
		}
		want := map[string]string{known: "Hi Ada, table 12 is ready 🍽", unknown: "Hi there, table soon is ready 🍽"}
		for _, sent := range res.Messages {
			m, err := db.GetMessage(ctx, tn.account.ID, sent.MessageID)
			if err != nil {
				t.Fatal(err)
			}
			if m.Body != want[sent.To] {
				t.Errorf("%s got %q, want %q", sent.To, m.Body, want[sent.To])
			}
			if seg := conversations.Segment(want[sent.To]); m.Segments != seg.Segments || m.Encoding != seg.Encoding {
				t.Errorf("%s's text: %d segments %s, want its own text's %d %s", sent.To, m.Segments, m.Encoding, seg.Segments, seg.Encoding)
			}
		}
		_, err = db.QueueQuickMessage(ctx, campaigns.QuickMessage{AccountID: tn.account.ID, Sender: tn.admin, ChannelID: tn.channel.ID,
			Body: "Hi {{nickname}}", At: t0}, []string{unknown})
		if !parley.IsKind(err, parley.EINVALID) {
			t.Errorf("an unknown field: %v, want EINVALID", err)
		}
	})
}
