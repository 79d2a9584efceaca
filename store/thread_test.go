package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

// TestReadThread: a thread is read from its newest end, a page at a time,
// each page with the activity of its own stretch of time and none twice.
func TestReadThread(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
		var conv parley.ID
		for i, body := range []string{"t0", "t10", "t20", "t30", "t40"} {
			conv = a.receive(t, text{from: alice, body: body, at: at(10 * i)}).Conversation.ID
			switch i {
			case 1: // resolved at 15, the text at 20 opens it again
				a.change(t, conv, conversations.ActionResolve, at(15))
			case 3:
				a.change(t, conv, conversations.ActionPending, at(35))
			}
		}
		a.receive(t, text{from: bob, body: "another thread", at: at(25)})

		type page struct{ msgs, events []string }
		read := func(before parley.ID) (page, parley.ID) {
			p, err := db.ReadThread(ctx, a.account.ID, conv, before, 2)
			if err != nil {
				t.Fatalf("ReadThread(before %d): %v", before, err)
			}
			// The conversation comes with its page, as it stands.
			if c := p.Conversation; c.ID != conv || c.Status != conversations.StatusOpen || c.ContactPhone != alice {
				t.Fatalf("ReadThread(before %d) gave conversation %d %s %s", before, c.ID, c.Status, c.ContactPhone)
			}
			var out page
			for _, m := range p.Messages {
				out.msgs = append(out.msgs, m.Body)
			}
			for _, e := range p.Events {
				out.events = append(out.events, string(e.Type)+"@"+e.CreatedAt.Sub(t0).String())
			}
			return out, p.Older
		}
		want := []page{
			{msgs: []string{"t30", "t40"}, events: []string{"status_changed@35s", "status_changed@40s"}},
			{msgs: []string{"t10", "t20"}, events: []string{"status_changed@15s", "status_changed@20s"}},
			{msgs: []string{"t0"}, events: []string{"created@0s"}},
		}
		var before parley.ID
		for i, w := range want {
			got, older := read(before)
			if !slices.Equal(got.msgs, w.msgs) || !slices.Equal(got.events, w.events) {
				t.Errorf("page %d = %v %v; want %v %v", i+1, got.msgs, got.events, w.msgs, w.events)
			}
			if (older == 0) != (i == len(want)-1) {
				t.Fatalf("page %d: older = %d", i+1, older)
			}
			before = older
		}

		b := newTenant(t, db, sidB, bizB)
		_, err := db.ReadThread(ctx, b.account.ID, conv, 0, 2)
		wantKind(t, err, parley.ENOTFOUND)
	})
}

// change applies a staff action as the tenant's admin.
func (tn *tenant) change(t testing.TB, convID parley.ID, action conversations.Action, at time.Time) {
	t.Helper()
	if _, err := tn.db.ChangeStatus(ctx, conversations.StatusChange{AccountID: tn.account.ID, ConversationID: convID,
		Actor: tn.admin, Action: action, At: at}); err != nil {
		t.Fatalf("%s %d: %v", action, convID, err)
	}
}
