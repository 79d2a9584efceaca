package store_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

// staffUser creates a staff member of the tenant's account.
func (tn *tenant) staffUser(t testing.TB, email string, role conversations.Role, viewAll bool) conversations.User {
	t.Helper()
	u, _, err := tn.db.CreateUser(ctx, tn.account.ID, conversations.NewUser{Email: email, Name: "Staff " + email, Role: role,
		ViewAllConversations: viewAll}, conversations.NewTokenSecret(), t0)
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

// staffAssign sets a conversation's assignee as actor, failing the test on error.
func (tn *tenant) staffAssign(t testing.TB, actor conversations.User, convID parley.ID, to *parley.ID, at time.Time) conversations.Conversation {
	t.Helper()
	c, err := tn.db.Assign(ctx, conversations.Assignment{AccountID: tn.account.ID, ConversationID: convID, Actor: actor, AssigneeID: to, At: at})
	if err != nil {
		t.Fatalf("Assign(%d -> %v): %v", convID, to, err)
	}
	return c
}

// staffSnooze snoozes a conversation as the tenant's admin until the given time.
func (tn *tenant) staffSnooze(t testing.TB, convID parley.ID, until, at time.Time) {
	t.Helper()
	_, err := tn.db.ChangeStatus(ctx, conversations.StatusChange{AccountID: tn.account.ID, ConversationID: convID, Actor: tn.admin,
		Action: conversations.ActionSnooze, Until: &until, At: at})
	if err != nil {
		t.Fatalf("snooze %d: %v", convID, err)
	}
}

// staffSnoozeEnded counts the system's "snooze ended" entries in the log.
func staffSnoozeEnded(t testing.TB, db *store.DB, convID ...parley.ID) int {
	t.Helper()
	q := `SELECT COUNT(*) FROM conversation_events WHERE type = 'status_changed' AND actor_type = 'system'
AND CAST(data AS TEXT) LIKE '%snooze_ended%'`
	if len(convID) == 1 {
		return count(t, db, q+` AND conversation_id = ?`, convID[0])
	}
	return count(t, db, q)
}

func staffConvIDs(cs []conversations.Conversation) []parley.ID {
	out := make([]parley.ID, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	slices.Sort(out)
	return out
}

func TestWakeSnoozedWakesOnlyDueConversationsOnce(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		soon := a.receive(t, text{from: alice, body: "soon"}).Conversation
		later := a.receive(t, text{from: bob, body: "later"}).Conversation
		untouched := a.receive(t, text{from: alice2, body: "not snoozed"}).Conversation
		a.staffSnooze(t, soon.ID, t0.Add(time.Hour), t0)
		a.staffSnooze(t, later.ID, t0.Add(3*time.Hour), t0)

		steps := []struct {
			name string
			now  time.Time
			want []parley.ID
		}{
			{"before any snooze ends", t0.Add(30 * time.Minute), nil},
			{"a millisecond early", t0.Add(time.Hour - time.Millisecond), nil},
			{"exactly at the first snooze's end", t0.Add(time.Hour), []parley.ID{soon.ID}},
			{"the same instant again wakes nothing", t0.Add(time.Hour), nil},
			{"between the two", t0.Add(2 * time.Hour), nil},
			{"well after the second", t0.Add(5 * time.Hour), []parley.ID{later.ID}},
			{"and nothing is left", t0.Add(10 * time.Hour), nil},
		}
		for _, s := range steps {
			woken, err := db.WakeSnoozed(ctx, s.now)
			if err != nil {
				t.Fatalf("%s: WakeSnoozed: %v", s.name, err)
			}
			if got := staffConvIDs(woken); !slices.Equal(got, s.want) {
				t.Errorf("%s: woke %v; want %v", s.name, got, s.want)
			}
			for _, c := range woken {
				if c.Status != conversations.StatusOpen || c.SnoozedUntil != nil {
					t.Errorf("%s: woken conversation %d is %s until %v; want open, no snooze", s.name, c.ID, c.Status, c.SnoozedUntil)
				}
			}
		}
		for _, c := range []conversations.Conversation{soon, later} {
			got, err := db.GetConversation(ctx, a.account.ID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != conversations.StatusOpen || got.SnoozedUntil != nil {
				t.Errorf("conversation %d after waking: %s until %v", c.ID, got.Status, got.SnoozedUntil)
			}
			if n := staffSnoozeEnded(t, db, c.ID); n != 1 {
				t.Errorf("conversation %d has %d snooze_ended events; want 1", c.ID, n)
			}
		}
		if got, _ := db.GetConversation(ctx, a.account.ID, untouched.ID); got.Status != conversations.StatusNew {
			t.Errorf("a conversation that was never snoozed is now %s", got.Status)
		}
	})
}

// Several instances run the wake-up every second against one database:
// each conversation must be reopened, and logged, by exactly one of them.
func TestWakeSnoozedConcurrentInstancesWakeEachOnce(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		const convs, workers, rounds = 50, 4, 3
		var all []parley.ID
		for i := range convs {
			c := a.receive(t, text{from: fmt.Sprintf("+1415555%04d", 3000+i), body: "hi"}).Conversation
			all = append(all, c.ID)
		}
		slices.Sort(all)
		for round := range rounds {
			at := t0.Add(time.Duration(round) * 24 * time.Hour)
			for _, id := range all {
				a.staffSnooze(t, id, at.Add(time.Hour), at)
			}
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				mu    sync.Mutex
				woken []parley.ID
				errs  []error
			)
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					got, err := db.WakeSnoozed(ctx, at.Add(2*time.Hour))
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, err)
					}
					for _, c := range got {
						woken = append(woken, c.ID)
					}
				}()
			}
			close(start)
			wg.Wait()
			if len(errs) > 0 {
				t.Fatalf("round %d: WakeSnoozed errors: %v", round, errs)
			}
			slices.Sort(woken)
			if !slices.Equal(woken, all) {
				t.Errorf("round %d: the %d instances woke %d conversations in total (%v); want each of the %d exactly once",
					round, workers, len(woken), woken, convs)
			}
			if n := staffSnoozeEnded(t, db); n != convs*(round+1) {
				t.Errorf("round %d: %d snooze_ended events; want %d", round, n, convs*(round+1))
			}
		}
	})
}

func TestQueueReplyRules(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)
		ann := a.staffUser(t, "ann@example.com", conversations.RoleAgent, false)
		ben := a.staffUser(t, "ben@example.com", conversations.RoleAgent, false)
		vic := a.staffUser(t, "vic@example.com", conversations.RoleAgent, true) // sees all, not an admin
		otherAdmin := a.staffUser(t, "boss@example.com", conversations.RoleAdmin, false)

		phoneSeq := 0
		newConv := func(t *testing.T, assignee *parley.ID) conversations.Conversation {
			t.Helper()
			phoneSeq++
			c := a.receive(t, text{from: fmt.Sprintf("+1415555%04d", 4000+phoneSeq), body: "hello"}).Conversation
			if assignee != nil {
				c = a.staffAssign(t, a.admin, c.ID, assignee, t0)
			}
			return c
		}
		reply := func(author conversations.User, c conversations.Conversation) (conversations.Message, error) {
			r := conversations.Reply{AccountID: author.AccountID, ConversationID: c.ID, Author: author, Body: "On it", At: t0.Add(time.Minute)}
			if err := r.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			return db.QueueReply(ctx, r)
		}

		tests := []struct {
			name         string
			author       conversations.User
			assignee     *parley.ID
			wantKind     string
			wantAssignee *parley.ID // after the reply
		}{
			{"an agent on their own conversation", ann, &ann.ID, "", &ann.ID},
			{"an agent on a colleague's conversation", ben, &ann.ID, parley.EFORBIDDEN, &ann.ID},
			{"a view-all agent on a colleague's conversation", vic, &ann.ID, parley.EFORBIDDEN, &ann.ID},
			{"an admin on an agent's conversation", otherAdmin, &ann.ID, "", &ann.ID},
			{"a view-all agent on an unassigned conversation takes it", vic, nil, "", &vic.ID},
			{"an admin on an unassigned conversation takes it", otherAdmin, nil, "", &otherAdmin.ID},
			{"an agent on an unassigned conversation they cannot see", ben, nil, parley.EFORBIDDEN, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := newConv(t, tt.assignee)
				before := len(outbox(t, db))
				m, err := reply(tt.author, c)
				got, gerr := db.GetConversation(ctx, a.account.ID, c.ID)
				if gerr != nil {
					t.Fatal(gerr)
				}
				if (got.AssigneeID == nil) != (tt.wantAssignee == nil) || (got.AssigneeID != nil && *got.AssigneeID != *tt.wantAssignee) {
					t.Errorf("assignee after the reply = %v; want %v", got.AssigneeID, tt.wantAssignee)
				}
				if tt.wantKind != "" {
					wantKind(t, err, tt.wantKind)
					if n := len(outbox(t, db)); n != before {
						t.Errorf("a refused reply queued %d outbox rows", n-before)
					}
					if got.Status != conversations.StatusNew {
						t.Errorf("a refused reply moved the conversation to %s", got.Status)
					}
					return
				}
				if err != nil {
					t.Fatalf("QueueReply: %v", err)
				}
				if m.Direction != conversations.Outbound || m.Kind != conversations.KindText || m.Status != conversations.MessageQueued ||
					m.AuthorID == nil || *m.AuthorID != tt.author.ID || m.Segments != 1 || m.Encoding != conversations.EncodingGSM7 {
					t.Errorf("queued message = %+v", m)
				}
				rows := outbox(t, db)
				if len(rows) != before+1 {
					t.Fatalf("outbox grew by %d rows; want 1", len(rows)-before)
				}
				if last := rows[len(rows)-1]; last.Purpose != campaigns.PurposeReply || last.To != c.ContactPhone || last.Body != "On it" {
					t.Errorf("outbox row = %+v; want a reply to %s", last, c.ContactPhone)
				}
				if got.Status != conversations.StatusOpen {
					t.Errorf("a reply on a new conversation left it %s; want open", got.Status)
				}
			})
		}

		t.Run("the rule reads the assignee inside the transaction", func(t *testing.T) {
			c := newConv(t, &ann.ID)
			if _, err := reply(ann, c); err != nil {
				t.Fatalf("owner's reply: %v", err)
			}
			a.staffAssign(t, a.admin, c.ID, &ben.ID, t0.Add(2*time.Minute))
			// c still says ann owns it; the store must not trust that.
			_, err := reply(ann, c)
			wantKind(t, err, parley.EFORBIDDEN)
		})

		t.Run("two view-all agents racing for an unassigned conversation: one wins", func(t *testing.T) {
			vic2 := a.staffUser(t, "vic2@example.com", conversations.RoleAgent, true)
			for i := range 5 {
				c := newConv(t, nil)
				errs := make([]error, 2)
				var wg sync.WaitGroup
				for j, u := range []conversations.User{vic, vic2} {
					wg.Add(1)
					go func() { defer wg.Done(); _, errs[j] = reply(u, c) }()
				}
				wg.Wait()
				ok := 0
				for _, err := range errs {
					switch {
					case err == nil:
						ok++
					case !parley.IsKind(err, parley.EFORBIDDEN):
						t.Errorf("race %d: unexpected error %v", i, err)
					}
				}
				if ok != 1 {
					t.Errorf("race %d: %d replies went through (%v); want exactly 1: the loser finds it assigned", i, ok, errs)
				}
			}
		})

		t.Run("an opted-out phone is a conflict and nothing is queued", func(t *testing.T) {
			c := newConv(t, &ann.ID)
			a.receive(t, text{from: c.ContactPhone, body: "STOP"})
			before := len(outbox(t, db))
			msgsBefore := count(t, db, `SELECT COUNT(*) FROM messages WHERE conversation_id = ?`, c.ID)
			_, err := reply(ann, c)
			wantKind(t, err, parley.ECONFLICT, "contact_opted_out")
			if n := len(outbox(t, db)); n != before {
				t.Errorf("outbox grew by %d", n-before)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM messages WHERE conversation_id = ?`, c.ID); n != msgsBefore {
				t.Errorf("thread grew by %d messages", n-msgsBefore)
			}
		})

		t.Run("an unknown or foreign conversation is not found", func(t *testing.T) {
			foreign := b.receive(t, text{from: alice, body: "other account"}).Conversation
			for _, c := range []conversations.Conversation{{ID: 987654321}, foreign} {
				_, err := reply(otherAdmin, c)
				wantKind(t, err, parley.ENOTFOUND)
			}
			// b's admin, acting on b's own conversation, is fine.
			if _, err := reply(b.admin, foreign); err != nil {
				t.Errorf("b's admin on b's conversation: %v", err)
			}
		})
	})
}

// staffNotificationsOf lists every notification of the user, in list order.
func staffNotificationsOf(t testing.TB, db *store.DB, u conversations.User) []conversations.Notification {
	t.Helper()
	ns, next, err := db.ListNotifications(ctx, u.AccountID, u.ID, conversations.Page{Limit: conversations.MaxPageLimit})
	if err != nil || next != "" {
		t.Fatalf("ListNotifications: %v (next %q)", err, next)
	}
	return ns
}

func TestAssignRules(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)
		ann := a.staffUser(t, "ann@example.com", conversations.RoleAgent, false)
		ben := a.staffUser(t, "ben@example.com", conversations.RoleAgent, false)
		c := a.receive(t, text{from: alice, body: "hi"}).Conversation

		t.Run("to an unknown or foreign user is invalid", func(t *testing.T) {
			for _, id := range []parley.ID{987654321, b.admin.ID} {
				_, err := db.Assign(ctx, conversations.Assignment{AccountID: a.account.ID, ConversationID: c.ID, Actor: a.admin, AssigneeID: &id, At: t0})
				wantKind(t, err, parley.EINVALID)
				var pe *parley.Error
				if errors.As(err, &pe); pe.Fields["assignee_id"] == "" {
					t.Errorf("error fields = %v; want assignee_id", pe.Fields)
				}
			}
			if got, _ := db.GetConversation(ctx, a.account.ID, c.ID); got.AssigneeID != nil {
				t.Errorf("assignee after refused assignments = %v", *got.AssigneeID)
			}
		})

		t.Run("the assignee is notified", func(t *testing.T) {
			got := a.staffAssign(t, a.admin, c.ID, &ann.ID, t0.Add(time.Minute))
			if got.AssigneeID == nil || *got.AssigneeID != ann.ID {
				t.Fatalf("assignee = %v; want ann", got.AssigneeID)
			}
			ns := staffNotificationsOf(t, db, ann)
			if len(ns) != 1 || ns[0].Kind != conversations.NotifyAssigned || ns[0].ConversationID != c.ID ||
				ns[0].ActorID == nil || *ns[0].ActorID != a.admin.ID || ns[0].ReadAt != nil {
				t.Errorf("ann's notifications = %+v; want one unread conversation_assigned by the admin", ns)
			}
			// Assigning again to the same person changes nothing.
			a.staffAssign(t, a.admin, c.ID, &ann.ID, t0.Add(2*time.Minute))
			if n := len(staffNotificationsOf(t, db, ann)); n != 1 {
				t.Errorf("a repeated assignment notified again: %d notifications", n)
			}
		})

		t.Run("an agent hands their conversation to a colleague", func(t *testing.T) {
			a.staffAssign(t, ann, c.ID, &ben.ID, t0.Add(3*time.Minute))
			ns := staffNotificationsOf(t, db, ben)
			if len(ns) != 1 || ns[0].ActorID == nil || *ns[0].ActorID != ann.ID {
				t.Errorf("ben's notifications = %+v; want one from ann", ns)
			}
			// ann no longer owns it: she cannot take it back.
			_, err := db.Assign(ctx, conversations.Assignment{AccountID: a.account.ID, ConversationID: c.ID, Actor: ann, AssigneeID: &ann.ID, At: t0})
			wantKind(t, err, parley.EFORBIDDEN)
		})

		t.Run("self-assignment notifies nobody", func(t *testing.T) {
			c2 := a.receive(t, text{from: bob, body: "hi"}).Conversation
			a.staffAssign(t, a.admin, c2.ID, &a.admin.ID, t0.Add(4*time.Minute))
			// A reply that takes an unassigned conversation is a self-assignment too.
			c3 := a.receive(t, text{from: alice2, body: "hi"}).Conversation
			r := conversations.Reply{AccountID: a.account.ID, ConversationID: c3.ID, Author: a.admin, Body: "hello", At: t0.Add(5 * time.Minute)}
			if err := r.Validate(); err != nil {
				t.Fatal(err)
			}
			if _, err := db.QueueReply(ctx, r); err != nil {
				t.Fatal(err)
			}
			if ns := staffNotificationsOf(t, db, a.admin); len(ns) != 0 {
				t.Errorf("the admin got %d notifications for taking conversations themself: %+v", len(ns), ns)
			}
			if got, _ := db.GetConversation(ctx, a.account.ID, c3.ID); got.AssigneeID == nil || *got.AssigneeID != a.admin.ID {
				t.Errorf("replying did not assign the conversation to the admin: %v", got.AssigneeID)
			}
		})

		t.Run("unassigning notifies nobody and is logged", func(t *testing.T) {
			before := len(staffNotificationsOf(t, db, ben))
			got := a.staffAssign(t, a.admin, c.ID, nil, t0.Add(6*time.Minute))
			if got.AssigneeID != nil {
				t.Errorf("assignee after unassigning = %v", *got.AssigneeID)
			}
			if n := len(staffNotificationsOf(t, db, ben)); n != before {
				t.Errorf("unassigning notified the former assignee")
			}
			types := eventTypes(t, db, c.ID)
			if n := len(slices.DeleteFunc(slices.Clone(types), func(s string) bool { return s != string(conversations.EventAssigneeChanged) })); n != 3 {
				t.Errorf("assignee_changed events = %d (%v); want 3 (ann, ben, nobody)", n, types)
			}
		})

		t.Run("another account's conversation is not found", func(t *testing.T) {
			foreign := b.receive(t, text{from: alice, body: "b"}).Conversation
			_, err := db.Assign(ctx, conversations.Assignment{AccountID: a.account.ID, ConversationID: foreign.ID, Actor: a.admin, AssigneeID: nil, At: t0})
			wantKind(t, err, parley.ENOTFOUND)
		})
	})
}

func TestListNotificationsOrderAndPages(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)
		ann := a.staffUser(t, "ann@example.com", conversations.RoleAgent, false)
		ben := a.staffUser(t, "ben@example.com", conversations.RoleAgent, false)

		// Seven conversations assigned to ann, then a text in each of the
		// first two: nine notifications, oldest first.
		var convs []conversations.Conversation
		for i := range 7 {
			c := a.receive(t, text{from: fmt.Sprintf("+1415555%04d", 5000+i), body: "hi", at: t0.Add(time.Duration(i) * time.Minute)}).Conversation
			a.staffAssign(t, a.admin, c.ID, &ann.ID, t0.Add(time.Duration(i)*time.Minute))
			convs = append(convs, c)
		}
		for i := range 2 {
			a.receive(t, text{from: convs[i].ContactPhone, body: "any news?", at: t0.Add(time.Hour + time.Duration(i)*time.Minute)})
		}
		// ben has one of his own.
		cb := a.receive(t, text{from: alice, body: "for ben"}).Conversation
		a.staffAssign(t, a.admin, cb.ID, &ben.ID, t0)

		all := staffNotificationsOf(t, db, ann)
		if len(all) != 9 {
			t.Fatalf("ann has %d notifications; want 9", len(all))
		}
		if all[0].Kind != conversations.NotifyInbound || all[0].ConversationID != convs[1].ID || all[0].MessageID == nil {
			t.Errorf("newest notification = %+v; want the inbound text in conversation %d", all[0], convs[1].ID)
		}
		// Read three: the newest, one in the middle and the oldest.
		readIDs := []parley.ID{all[0].ID, all[4].ID, all[8].ID}
		for _, id := range readIDs {
			n, err := db.MarkNotificationRead(ctx, a.account.ID, ann.ID, id, t0.Add(2*time.Hour))
			if err != nil || n.ReadAt == nil || !n.ReadAt.Equal(t0.Add(2*time.Hour)) {
				t.Fatalf("MarkNotificationRead(%d) = %+v, %v", id, n, err)
			}
		}
		// Marking again keeps the first read time.
		if n, err := db.MarkNotificationRead(ctx, a.account.ID, ann.ID, readIDs[0], t0.Add(3*time.Hour)); err != nil || !n.ReadAt.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("second MarkNotificationRead = %+v, %v; want the first read time kept", n, err)
		}

		var wantOrder []parley.ID
		for _, n := range all { // unread, newest first
			if !slices.Contains(readIDs, n.ID) {
				wantOrder = append(wantOrder, n.ID)
			}
		}
		wantOrder = append(wantOrder, readIDs...) // then read, newest first
		now := staffNotificationsOf(t, db, ann)
		var got []parley.ID
		for i, n := range now {
			got = append(got, n.ID)
			if wantRead := i >= 6; (n.ReadAt != nil) != wantRead {
				t.Errorf("notification %d at position %d: read = %v", n.ID, i, n.ReadAt != nil)
			}
		}
		if !slices.Equal(got, wantOrder) {
			t.Errorf("order = %v; want unread newest first, then read newest first: %v", got, wantOrder)
		}

		t.Run("keyset pages walk the same order", func(t *testing.T) {
			for _, limit := range []int{1, 2, 4, 6, 9} {
				var paged []parley.ID
				cursor := ""
				for pages := 0; ; pages++ {
					if pages > 20 {
						t.Fatal("pagination does not end")
					}
					ns, next, err := db.ListNotifications(ctx, a.account.ID, ann.ID, conversations.Page{Limit: limit, Cursor: cursor})
					if err != nil {
						t.Fatalf("limit %d page %d: %v", limit, pages, err)
					}
					if len(ns) > limit {
						t.Fatalf("limit %d: page of %d", limit, len(ns))
					}
					for _, n := range ns {
						paged = append(paged, n.ID)
					}
					if next == "" {
						break
					}
					cursor = next
				}
				if !slices.Equal(paged, wantOrder) {
					t.Errorf("limit %d: paged %v; want %v", limit, paged, wantOrder)
				}
			}
		})

		t.Run("new notifications do not shift later pages", func(t *testing.T) {
			first, next, err := db.ListNotifications(ctx, a.account.ID, ann.ID, conversations.Page{Limit: 3})
			if err != nil || next == "" {
				t.Fatalf("first page: %v, next %q", err, next)
			}
			a.receive(t, text{from: convs[3].ContactPhone, body: "new while paging", at: t0.Add(4 * time.Hour)})
			rest, _, err := db.ListNotifications(ctx, a.account.ID, ann.ID, conversations.Page{Limit: 50, Cursor: next})
			if err != nil {
				t.Fatal(err)
			}
			var got []parley.ID
			for _, n := range append(first, rest...) {
				got = append(got, n.ID)
			}
			if !slices.Equal(got, wantOrder) {
				t.Errorf("pages across an insert = %v; want %v", got, wantOrder)
			}
		})

		t.Run("a bad cursor is invalid", func(t *testing.T) {
			_, _, err := db.ListNotifications(ctx, a.account.ID, ann.ID, conversations.Page{Cursor: "not-a-cursor!"})
			wantKind(t, err, parley.EINVALID)
		})

		t.Run("users see only their own", func(t *testing.T) {
			ns := staffNotificationsOf(t, db, ben)
			if len(ns) != 1 || ns[0].ConversationID != cb.ID {
				t.Errorf("ben's notifications = %+v", ns)
			}
			if ns := staffNotificationsOf(t, db, b.admin); len(ns) != 0 {
				t.Errorf("another account's admin sees %d notifications", len(ns))
			}
		})

		t.Run("marking someone else's is not found", func(t *testing.T) {
			bensID := staffNotificationsOf(t, db, ben)[0].ID
			tests := []struct {
				name              string
				account, user, id parley.ID
			}{
				{"another user's", a.account.ID, ann.ID, bensID},
				{"another account's user", b.account.ID, b.admin.ID, bensID},
				{"an unknown id", a.account.ID, ann.ID, 987654321},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					_, err := db.MarkNotificationRead(ctx, tt.account, tt.user, tt.id, t0)
					wantKind(t, err, parley.ENOTFOUND)
				})
			}
			if ns := staffNotificationsOf(t, db, ben); ns[0].ReadAt != nil {
				t.Errorf("ben's notification was marked read by someone else")
			}
		})
	})
}

func TestUpdateContactPhoneConflict(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)
		jane := newContact(t, db, a.account.ID, "Jane", "+14155556001")
		newContact(t, db, a.account.ID, "John", "+14155556002")
		newContact(t, db, b.account.ID, "Other account", "+14155556003")
		str := func(s string) *string { return &s }
		phones := func(p ...string) *[]string { return &p }

		t.Run("a phone of another contact is a conflict and changes nothing", func(t *testing.T) {
			_, err := db.UpdateContact(ctx, a.account.ID, jane.ID, conversations.ContactPatch{Name: str("Janet"), Type: str("applicant"),
				Phones: phones("+14155556009", "+14155556002")}, t0.Add(time.Hour))
			wantKind(t, err, parley.ECONFLICT, "phone_taken")
			got, err := db.GetContact(ctx, a.account.ID, jane.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "Jane" || got.Type != "" || !slices.Equal(got.Phones, []string{"+14155556001"}) || !got.UpdatedAt.Equal(t0) {
				t.Errorf("contact after the refused update = %+v; want it unchanged", got)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM contact_phones WHERE phone = ?`, "+14155556009"); n != 0 {
				t.Errorf("the refused update left +14155556009 attached")
			}
			john, _, _ := db.FindContacts(ctx, conversations.ContactFilter{AccountID: a.account.ID, Phone: "+14155556002"})
			if len(john) != 1 || john[0].Name != "John" {
				t.Errorf("+14155556002 belongs to %+v; want John still", john)
			}
		})

		t.Run("fields and phones are replaced, phones normalised", func(t *testing.T) {
			attrs := map[string]any{"program": "nursing"}
			got, err := db.UpdateContact(ctx, a.account.ID, jane.ID, conversations.ContactPatch{Name: str(" Janet "), Attributes: &attrs,
				Phones: phones("(415) 555-6010", "+1 415 555 6001", "+14155556003")}, t0.Add(time.Hour))
			if err != nil {
				t.Fatalf("UpdateContact: %v", err)
			}
			want := []string{"+14155556010", "+14155556001", "+14155556003"}
			if got.Name != "Janet" || got.Attributes["program"] != "nursing" || !slices.Equal(got.Phones, want) {
				t.Errorf("updated contact = %+v; want Janet with %v (another account's phone is no conflict)", got, want)
			}
			if again, _ := db.GetContact(ctx, a.account.ID, jane.ID); !slices.Equal(again.Phones, want) || again.Name != "Janet" {
				t.Errorf("stored contact = %+v", again)
			}
		})

		t.Run("bad input", func(t *testing.T) {
			_, err := db.UpdateContact(ctx, a.account.ID, jane.ID, conversations.ContactPatch{Phones: phones("not a phone")}, t0)
			wantKind(t, err, parley.EINVALID)
			_, err = db.UpdateContact(ctx, a.account.ID, 987654321, conversations.ContactPatch{Name: str("x")}, t0)
			wantKind(t, err, parley.ENOTFOUND)
			other, _, _ := db.FindContacts(ctx, conversations.ContactFilter{AccountID: b.account.ID})
			_, err = db.UpdateContact(ctx, a.account.ID, other[0].ID, conversations.ContactPatch{Name: str("stolen")}, t0)
			wantKind(t, err, parley.ENOTFOUND)
		})
	})
}

// Two staff members clicking the same button at once: the conversation
// changes once, the log says so once and the assignee is notified once.
func TestConcurrentSameStaffActionsApplyOnce(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		ann := a.staffUser(t, "ann@example.com", conversations.RoleAgent, false)
		boss := a.staffUser(t, "boss@example.com", conversations.RoleAdmin, false)
		const n = 6
		for round := range 3 {
			c := a.receive(t, text{from: fmt.Sprintf("+1415555%04d", 6000+round), body: "hi"}).Conversation
			var wg sync.WaitGroup
			errs := make([]error, 2*n)
			for i := range n {
				actor := []conversations.User{a.admin, boss}[i%2]
				wg.Add(2)
				go func() {
					defer wg.Done()
					_, errs[i] = db.ChangeStatus(ctx, conversations.StatusChange{AccountID: a.account.ID, ConversationID: c.ID, Actor: actor,
						Action: conversations.ActionResolve, At: t0.Add(time.Minute)})
				}()
				go func() {
					defer wg.Done()
					_, errs[n+i] = db.Assign(ctx, conversations.Assignment{AccountID: a.account.ID, ConversationID: c.ID, Actor: actor,
						AssigneeID: &ann.ID, At: t0.Add(time.Minute)})
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d, call %d: %v", round, i, err)
				}
			}
			types := eventTypes(t, db, c.ID)
			resolved := count(t, db, `SELECT COUNT(*) FROM conversation_events WHERE conversation_id = ? AND type = 'status_changed'`, c.ID)
			assigned := count(t, db, `SELECT COUNT(*) FROM conversation_events WHERE conversation_id = ? AND type = 'assignee_changed'`, c.ID)
			if resolved != 1 || assigned != 1 {
				t.Errorf("round %d: events %v; want one status_changed and one assignee_changed", round, types)
			}
			if got := count(t, db, `SELECT COUNT(*) FROM notifications WHERE conversation_id = ? AND user_id = ? AND kind = ?`, c.ID, ann.ID, conversations.NotifyAssigned); got != 1 {
				t.Errorf("round %d: ann got %d notifications for one assignment", round, got)
			}
		}
	})
}

func TestQuickMessageFollowsTheSendingRule(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		ann := a.staffUser(t, "ann@example.com", conversations.RoleAgent, false)
		ben := a.staffUser(t, "ben@example.com", conversations.RoleAgent, false)
		vic := a.staffUser(t, "vic@example.com", conversations.RoleAgent, true)
		seq := 0
		tests := []struct {
			name         string
			sender       conversations.User
			assignee     *parley.ID // of the phone's conversation; none when noConv
			noConv       bool
			skip         string
			wantAssignee *parley.ID
		}{
			{"an agent into a colleague's conversation", ben, &ann.ID, false, campaigns.SkipAssigned, &ann.ID},
			{"an agent into an unassigned conversation", ben, nil, false, campaigns.SkipNotAssigned, nil},
			{"a view-all agent into an unassigned one takes it", vic, nil, false, "", &vic.ID},
			{"an agent into their own conversation", ann, &ann.ID, false, "", &ann.ID},
			{"an admin into an agent's conversation", a.admin, &ann.ID, false, "", &ann.ID},
			{"an agent to a phone with no conversation gets it", ben, nil, true, "", &ben.ID},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				seq++
				phone := fmt.Sprintf("+1415555%04d", 7000+seq)
				var conv conversations.Conversation
				if !tt.noConv {
					conv = a.receive(t, text{from: phone, body: "hello"}).Conversation
					if tt.assignee != nil {
						conv = a.staffAssign(t, a.admin, conv.ID, tt.assignee, t0)
					}
				}
				before, events := len(outbox(t, db)), len(eventTypes(t, db, conv.ID))
				q := campaigns.QuickMessage{AccountID: a.account.ID, Sender: tt.sender, ChannelID: a.channel.ID, Body: "Hello", To: []string{phone},
					At: t0.Add(time.Minute)}
				phones, _, err := q.Recipients()
				if err != nil {
					t.Fatal(err)
				}
				res, err := db.QueueQuickMessage(ctx, q, phones)
				if err != nil {
					t.Fatalf("QueueQuickMessage: %v", err)
				}
				if tt.skip != "" {
					if len(res.Messages) != 0 || len(res.Skipped) != 1 || res.Skipped[0] != (campaigns.QuickSkip{To: phone, Reason: tt.skip}) {
						t.Fatalf("result = %+v; want %s skipped: %s", res, phone, tt.skip)
					}
					got, err := db.GetConversation(ctx, a.account.ID, conv.ID)
					if err != nil {
						t.Fatal(err)
					}
					if rtWho(got.AssigneeID) != rtWho(tt.wantAssignee) || got.Status != conv.Status || !got.UpdatedAt.Equal(conv.UpdatedAt) {
						t.Errorf("a skipped conversation changed: %+v; want it as it was: %+v", got, conv)
					}
					if n := len(outbox(t, db)); n != before {
						t.Errorf("a skipped recipient queued %d texts", n-before)
					}
					if n := len(eventTypes(t, db, conv.ID)); n != events {
						t.Errorf("a skipped recipient's conversation got %d events", n-events)
					}
					return
				}
				if len(res.Messages) != 1 || len(res.Skipped) != 0 {
					t.Fatalf("result = %+v; want the text queued", res)
				}
				got, err := db.GetConversation(ctx, a.account.ID, res.Messages[0].ConversationID)
				if err != nil {
					t.Fatal(err)
				}
				if rtWho(got.AssigneeID) != rtWho(tt.wantAssignee) {
					t.Errorf("assignee after = %s; want %s", rtWho(got.AssigneeID), rtWho(tt.wantAssignee))
				}
			})
		}
	})
}
