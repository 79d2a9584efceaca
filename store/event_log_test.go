package store_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/store"
)

// heard collects what the store announces.
type heard struct {
	mu   sync.Mutex
	anns []events.Announcement
}

func (h *heard) Announced(a events.Announcement) {
	h.mu.Lock()
	h.anns = append(h.anns, a)
	h.mu.Unlock()
}
func (h *heard) CatchUp() {}

// ownDeliveries are the deliveries the last n announcements of this
// process's commits to an account said were booked, in the order heard
// (its commits carry their events; on PostgreSQL they are heard again by
// notification, which does not say).
func (h *heard) ownDeliveries(acc parley.ID, n int) []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int
	for _, a := range h.anns {
		if a.AccountID == acc && len(a.Events) > 0 {
			out = append(out, a.Deliveries)
		}
	}
	return out[max(0, len(out)-n):]
}

// announcedUpTo checks that the account's announcements reached want:
// a transaction announces its events as soon as it committed.
func (h *heard) announcedUpTo(t *testing.T, acc parley.ID, want int64) {
	t.Helper()
	if got := h.last(acc); got != want {
		t.Fatalf("announced up to %d, want %d", got, want)
	}
}

func (h *heard) last(acc parley.ID) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var n int64
	for _, a := range h.anns {
		if a.AccountID == acc && a.Last > n {
			n = a.Last
		}
	}
	return n
}

func logOf(t *testing.T, db *store.DB, acc parley.ID, after int64) []events.Event {
	t.Helper()
	evs, err := db.EventsAfter(ctx, acc, after, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func types(evs []events.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = fmt.Sprintf("%d %s", e.Seq, e.Type)
	}
	return out
}

func TestEventLogRecordsChangesInTheirTransaction(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		h := &heard{}
		db.AnnounceTo(h)
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)
		res := a.receive(t, text{from: "+14155551234", body: "Is the shop open?"})
		conv := res.Conversation

		evs := logOf(t, db, a.account.ID, 0)
		got := fmt.Sprint(types(evs))
		// A conversation is announced before its first text.
		if got != "[1 conversation.created 2 message.created]" {
			t.Fatalf("a first text logged %s", got)
		}
		for _, e := range evs {
			if e.ConversationID != conv.ID {
				t.Errorf("%s concerns conversation %d, want %d", e.Type, e.ConversationID, conv.ID)
			}
			// The effects read what the conversation became and where a
			// message went.
			if status, assignee := e.CreatedState(); e.Type == events.ConversationCreated && (status != "new" || assignee != nil) {
				t.Errorf("conversation.created says status %q, assignee %v", status, assignee)
			}
			if dir, status := e.MessageState(); e.Type == events.MessageCreated && (dir != "inbound" || status != "received") {
				t.Errorf("message.created says %s, %s", dir, status)
			}
		}
		h.announcedUpTo(t, a.account.ID, 2)
		// Another account counts its own positions.
		b.receive(t, text{from: "+14155551234", body: "hello"})
		if evs := logOf(t, db, b.account.ID, 0); len(evs) != 2 || evs[0].Seq != 1 {
			t.Fatalf("account B's log %v", types(evs))
		}

		// A staff note and an assignment in their own transactions.
		if _, err := db.AddNote(ctx, conversations.Note{AccountID: a.account.ID, ConversationID: conv.ID, Author: a.admin, Body: "regular", At: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Assign(ctx, conversations.Assignment{AccountID: a.account.ID, ConversationID: conv.ID, Actor: a.admin, AssigneeID: &a.admin.ID, At: t0}); err != nil {
			t.Fatal(err)
		}
		evs = logOf(t, db, a.account.ID, 2)
		if fmt.Sprint(types(evs)) != "[3 note.created 4 conversation.updated]" {
			t.Fatalf("after a note and an assignment: %v", types(evs))
		}
		if string(evs[1].Data) == "{}" || evs[1].ActorID == nil || *evs[1].ActorID != a.admin.ID {
			t.Errorf("the assignment's event says %s by %v", evs[1].Data, evs[1].ActorID)
		}

		// What fails writes nothing and takes no position.
		stranger := conversations.User{ID: a.admin.ID + 999, AccountID: a.account.ID, Role: conversations.RoleAgent}
		if _, err := db.AddNote(ctx, conversations.Note{AccountID: a.account.ID, ConversationID: conv.ID, Author: stranger, Body: "x", At: t0}); err == nil {
			t.Fatal("a note by someone who may not act was stored")
		}
		a.receive(t, text{from: "+14155551234", body: "still there?"})
		evs = logOf(t, db, a.account.ID, 4)
		// The text notifies its assignee, in the same transaction.
		if fmt.Sprint(types(evs)) != "[5 message.created 6 notification.created]" {
			t.Fatalf("after a refused note and a text: %v", types(evs))
		}
		var note struct {
			UserID parley.ID `json:"user_id"`
		}
		if err := json.Unmarshal(evs[1].Data, &note); err != nil || evs[1].SubjectID == 0 || note.UserID != a.admin.ID {
			t.Errorf("the notification's event names notification %d, says %s", evs[1].SubjectID, evs[1].Data)
		}
		h.announcedUpTo(t, a.account.ID, 6)
	})
}

// Positions commit in order: a reader that saw n never later finds an
// event before n, however many transactions write at once.
func TestEventPositionsAreDenseUnderConcurrentWrites(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		const writers, each = 6, 15
		done := make(chan struct{})
		gaps := make(chan string, 1)
		go func() { // a reader following the log as a stream would
			var last int64
			for {
				evs, err := db.EventsAfter(ctx, a.account.ID, last, 100)
				if err != nil {
					gaps <- err.Error()
					return
				}
				for _, e := range evs {
					if e.Seq != last+1 {
						gaps <- fmt.Sprintf("read %d after %d", e.Seq, last)
						return
					}
					last = e.Seq
				}
				select {
				case <-done:
					if len(evs) == 0 {
						gaps <- ""
						return
					}
				default:
					time.Sleep(time.Millisecond)
				}
			}
		}()
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					a.receive(t, text{from: fmt.Sprintf("+1415556%02d%02d", w, i), body: "hi"})
				}
			}()
		}
		wg.Wait()
		close(done)
		if g := <-gaps; g != "" {
			t.Fatal(g)
		}
		oldest, head, err := db.EventBounds(ctx, a.account.ID)
		if err != nil || oldest != 1 || head != 2*writers*each {
			t.Fatalf("bounds %d..%d (%v), want 1..%d", oldest, head, err, 2*writers*each)
		}
	})
}

func TestPruningKeepsPositionsCounting(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		a.receive(t, text{from: "+14155551234", body: "old", at: t0})
		a.receive(t, text{from: "+14155551234", body: "new", at: t0.Add(48 * time.Hour)})
		n, err := db.PruneEvents(ctx, t0.Add(24*time.Hour), 1000)
		if err != nil || n != 2 {
			t.Fatalf("pruned %d (%v), want the first text's 2 events", n, err)
		}
		oldest, head, _ := db.EventBounds(ctx, a.account.ID)
		if oldest != 3 || head != 3 {
			t.Fatalf("bounds %d..%d, want 3..3", oldest, head)
		}
		a.receive(t, text{from: "+14155551235", body: "next", at: t0.Add(49 * time.Hour)})
		if evs := logOf(t, db, a.account.ID, 3); len(evs) != 2 || evs[0].Seq != 4 {
			t.Fatalf("after pruning the log goes on at %v", types(evs))
		}
	})
}

// Deliveries are queued in the transaction that writes the events, for
// the endpoints subscribed to their types and not disabled, and its
// announcement in this process says how many (the deliverer wakes on
// it), so that a commit booking none wakes nobody.
func TestEventsQueueWebhookDeliveries(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		heard := &heard{}
		db.AnnounceTo(heard)
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)
		a.receive(t, text{from: "+14155551230", body: "before any endpoint"})
		endpoint := func(acc parley.ID, disabled bool, types ...string) int {
			var at any
			if disabled {
				at = 1
			}
			exec(t, db, `INSERT INTO webhook_endpoints (account_id, url, secret, disabled_at, created_at, updated_at) VALUES (?, 'https://example.com/hook', 'whsec_x', ?, 0, 0)`, acc, at)
			id := count(t, db, `SELECT MAX(id) FROM webhook_endpoints`)
			for _, typ := range types {
				exec(t, db, `INSERT INTO webhook_subscriptions (account_id, type, endpoint_id) VALUES (?, ?, ?)`, acc, typ, id)
			}
			return id
		}
		messages := endpoint(a.account.ID, false, "message.created")
		both := endpoint(a.account.ID, false, "message.created", "conversation.created")
		endpoint(a.account.ID, true, "message.created")  // disabled
		endpoint(b.account.ID, false, "message.created") // another account's

		a.receive(t, text{from: "+14155551234", body: "hello"})
		a.receive(t, text{from: "+14155551234", body: "again"})
		for id, want := range map[int]int{messages: 2, both: 3} {
			if n := count(t, db, `SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = ? AND state = 'pending'`, id); n != want {
				t.Errorf("endpoint %d got %d deliveries, want %d", id, n, want)
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM webhook_deliveries`); n != 5 {
			t.Errorf("%d deliveries in all, want 5 (none for the disabled endpoint or account B's)", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM webhook_deliveries d JOIN events e ON e.account_id = d.account_id AND e.seq = d.event_seq AND e.type = d.event_type`); n != 5 {
			t.Errorf("%d deliveries point at their event, want 5", n)
		}

		// The three texts' announcements: none booked, then 3 (a new
		// conversation and its message to both), then 2. SQLite's
		// trigger does not say.
		want := []int{0, 3, 2}
		if db.Dialect() == "sqlite" {
			want = []int{events.DeliveriesUnknown, events.DeliveriesUnknown, events.DeliveriesUnknown}
		}
		if got := heard.ownDeliveries(a.account.ID, 3); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("the texts' announcements said deliveries %v, want %v", got, want)
		}
	})
}

// A consent change shows on every conversation with the phone.
func TestConsentChangesUpdateThePhonesConversations(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		second := a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, PhoneNumber: bizA2})
		first := a.receive(t, text{from: "+14155551234", body: "hello"}).Conversation
		other := a.receive(t, text{from: "+14155551234", to: second.PhoneNumber, body: "hi there"}).Conversation
		_, head, _ := db.EventBounds(ctx, a.account.ID)
		a.receive(t, text{from: "+14155551234", body: "STOP"})
		updated := map[parley.ID]bool{}
		for _, e := range logOf(t, db, a.account.ID, head) {
			if e.Type == events.ConversationUpdated && strings.Contains(string(e.Data), "opted_out") {
				updated[e.ConversationID] = true
			}
		}
		if !updated[first.ID] || !updated[other.ID] {
			t.Fatalf("after STOP, conversation.updated (opted_out) for %v; want both %d and %d", updated, first.ID, other.ID)
		}
	})
}

// TestThousandsOfEventsInOneTransaction: a transaction may record more
// events than one statement takes parameters for (a late campaign tick
// queues thousands of texts, each with its events): all are written,
// numbered densely.
func TestThousandsOfEventsInOneTransaction(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		_, before, err := db.EventBounds(ctx, a.account.ID)
		if err != nil {
			t.Fatal(err)
		}
		const n = 9000 // past SQLite's 32,766 parameters and PostgreSQL's 65,535
		if err := db.RecordMessageUpdates(ctx, a.account.ID, n, t0); err != nil {
			t.Fatalf("recording %d events in one transaction: %v", n, err)
		}
		if _, head, err := db.EventBounds(ctx, a.account.ID); err != nil || head != before+n {
			t.Fatalf("head at %d (%v) after %d events from %d", head, err, n, before)
		}
		if got := count(t, db, `SELECT COUNT(DISTINCT seq) FROM events WHERE account_id = ? AND type = 'message.updated'`, a.account.ID); got != n {
			t.Errorf("%d distinct positions for %d events", got, n)
		}
	})
}

// Pruning reads each account's log from its oldest position, as far as
// the batch left allows: an account's expired events go before the next
// account's, a pass that deletes a full batch is followed by another, and
// no event inside the retention goes.
func TestPruningWalksEachAccountFromItsOldest(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a, b := newTenant(t, db, sidA, bizA), newTenant(t, db, sidB, bizB)
		for i := range 3 { // two events a text: a thread created, its text
			a.receive(t, text{from: fmt.Sprintf("+1415555120%d", i), body: "old", at: t0.Add(time.Duration(i) * time.Minute)})
		}
		for i := range 2 {
			b.receive(t, text{from: fmt.Sprintf("+1415555130%d", i), body: "old", at: t0.Add(time.Duration(i) * time.Minute)})
		}
		a.receive(t, text{from: "+14155551209", body: "new", at: t0.Add(48 * time.Hour)})
		b.receive(t, text{from: "+14155551309", body: "new", at: t0.Add(48 * time.Hour)})
		cutoff := t0.Add(24 * time.Hour)
		for pass, want := range []int{7, 3, 0} {
			if n, err := db.PruneEvents(ctx, cutoff, 7); err != nil || n != want {
				t.Fatalf("pass %d pruned %d (%v), want %d", pass+1, n, err, want)
			}
		}
		for _, c := range []struct {
			tn           *tenant
			oldest, head int64
		}{{a, 7, 8}, {b, 5, 6}} {
			oldest, head, err := db.EventBounds(ctx, c.tn.account.ID)
			if err != nil || oldest != c.oldest || head != c.head {
				t.Errorf("bounds %d..%d (%v), want %d..%d: the new text's events kept", oldest, head, err, c.oldest, c.head)
			}
		}
	})
}

// TestMigrationKeysEventsByPosition: 00052 names an event by its account
// and position alone. The log written before it reads as it did, a
// position is still taken once, pruning by age works on the kept rows,
// and on SQLite (whose table is made again) the webhook fan-out still
// books deliveries. Undone and done again, the rows stay.
func TestMigrationKeysEventsByPosition(t *testing.T) {
	upgradeEachDB(t, 51, func(t *testing.T, db *store.DB) {
		exec(t, db, `INSERT INTO event_heads (account_id, seq) VALUES (1, 3)`)
		exec(t, db, `INSERT INTO webhook_endpoints (id, account_id, url, secret, created_at, updated_at) VALUES (1, 1, 'https://example.com/hook', 'whsec', 0, 0)`)
		exec(t, db, `INSERT INTO webhook_subscriptions (account_id, type, endpoint_id) VALUES (1, 'message.updated', 1)`)
		for i, typ := range []string{"conversation.created", "message.created", "message.updated"} {
			exec(t, db, `INSERT INTO events (account_id, seq, type, actor_type, data, created_at) VALUES (1, ?, ?, 'system', '{"n":1}', ?)`,
				i+1, typ, 10+i)
		}
	}, func(t *testing.T, db *store.DB) {
		check := func(when string) {
			evs, err := db.EventsAfter(ctx, 1, 0, 10)
			if err != nil || len(evs) != 3 || evs[0].Seq != 1 || evs[2].Seq != 3 || evs[2].Type != "message.updated" ||
				string(evs[1].Data) != `{"n": 1}` && string(evs[1].Data) != `{"n":1}` || evs[2].At.UnixMilli() != 12 {
				t.Fatalf("%s: the log reads %+v (%v)", when, evs, err)
			}
		}
		check("after 00052")
		if _, err := db.SQL().ExecContext(ctx, db.SQL().Rebind(`INSERT INTO events (account_id, seq, type, actor_type, data, created_at) VALUES (1, 2, 'message.created', 'system', '{}', 20)`)); err == nil {
			t.Error("a second event at position 2 was taken")
		}
		if err := db.UndoMigrationsAfter(ctx, 51); err != nil {
			t.Fatalf("undo 00052: %v", err)
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatalf("00052 again: %v", err)
		}
		check("undone and done again")
		if db.Dialect() == "sqlite" {
			exec(t, db, `INSERT INTO events (account_id, seq, type, actor_type, data, created_at) VALUES (1, 4, 'message.updated', 'system', '{}', 13)`)
			if n := count(t, db, `SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = 1 AND event_seq = 4`); n != 1 {
				t.Errorf("%d deliveries booked for a subscribed event, want 1", n)
			}
		}
		if n, err := db.PruneEvents(ctx, time.UnixMilli(12), 100); err != nil || n != 2 {
			t.Errorf("pruned %d (%v), want the 2 events before 12 ms", n, err)
		}
	})
}
