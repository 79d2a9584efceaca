package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/routing"
	"github.com/parleyhq/parley/store"
	"github.com/parleyhq/parley/store/storetest"
)

// desk is a tenant set up for auto-assignment: staff to route to, and
// helpers for tables, contact types and contacts.
type desk struct {
	*tenant
	staff []conversations.User
}

// newDesk creates a tenant with n staff members, all available.
func newDesk(t testing.TB, db *store.DB, sid, number string, n int) *desk {
	t.Helper()
	d := &desk{tenant: newTenant(t, db, sid, number)}
	for i := range n {
		u, _, err := db.CreateUser(ctx, d.account.ID, conversations.NewUser{Email: fmt.Sprintf("agent%d-%d@example.com", d.account.ID, i),
			Name: fmt.Sprintf("Agent %d", i), Role: conversations.RoleAgent}, conversations.NewTokenSecret(), t0)
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		d.staff = append(d.staff, u)
	}
	return d
}

// ids returns the ids of the desk's staff members at the given positions.
func (d *desk) ids(pos ...int) []parley.ID {
	out := make([]parley.ID, len(pos))
	for i, p := range pos {
		out[i] = d.staff[p].ID
	}
	return out
}

func (d *desk) autoAssignment(t testing.TB, on bool) {
	t.Helper()
	if _, err := d.db.UpdateSettings(ctx, d.account.ID, func(s conversations.Settings) (conversations.Settings, error) {
		s.AllowAutoAssignment = on
		return s, nil
	}, t0); err != nil {
		t.Fatalf("UpdateSettings: %v", err)
	}
}

func (d *desk) available(t testing.TB, userID parley.ID, on bool) {
	t.Helper()
	if _, err := d.db.UpdateUser(ctx, d.account.ID, userID, conversations.UserPatch{Available: &on}, t0); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
}

func (d *desk) table(t testing.TB, name string, isDefault bool, entries ...routing.Entry) routing.Table {
	t.Helper()
	tb, err := d.db.CreateRoutingTable(ctx, routing.Table{AccountID: d.account.ID, Name: name, Default: isDefault, Entries: entries,
		CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatalf("CreateRoutingTable(%s): %v", name, err)
	}
	return tb
}

func (d *desk) contactType(t testing.TB, name, relationship string, table *routing.Table) routing.ContactType {
	t.Helper()
	ct := routing.ContactType{AccountID: d.account.ID, Name: name, Relationship: relationship, CreatedAt: t0, UpdatedAt: t0}
	if table != nil {
		ct.RoutingTableID = &table.ID
	}
	ct, err := d.db.CreateContactType(ctx, ct)
	if err != nil {
		t.Fatalf("CreateContactType(%s): %v", name, err)
	}
	return ct
}

func (d *desk) contact(t testing.TB, typ string, attrs map[string]any, phones ...string) conversations.Contact {
	t.Helper()
	c, err := d.db.CreateContact(ctx, conversations.Contact{AccountID: d.account.ID, Name: "Contact " + phones[0], Type: typ,
		Attributes: attrs, Phones: phones, CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatalf("CreateContact: %v", err)
	}
	return c
}

// textFrom is a first inbound text from phone at t0+after: a new conversation.
func (d *desk) textFrom(t testing.TB, phone string, after time.Duration) conversations.Conversation {
	t.Helper()
	return d.receive(t, text{from: phone, body: "Hi, is anyone there?", at: t0.Add(after)}).Conversation
}

func (d *desk) autoAssign(t testing.TB, convID parley.ID) routing.Decision {
	t.Helper()
	dec, err := d.db.AutoAssign(ctx, d.account.ID, convID, t0.Add(time.Hour))
	if err != nil {
		t.Fatalf("AutoAssign(%d): %v", convID, err)
	}
	return dec
}

func (d *desk) assignee(t testing.TB, convID parley.ID) *parley.ID {
	t.Helper()
	c, err := d.db.GetConversation(ctx, d.account.ID, convID)
	if err != nil {
		t.Fatalf("GetConversation: %v", err)
	}
	return c.AssigneeID
}

func (d *desk) relationships(t testing.TB, contactID parley.ID) map[string]parley.ID {
	t.Helper()
	c, err := d.db.GetContact(ctx, d.account.ID, contactID)
	if err != nil {
		t.Fatalf("GetContact: %v", err)
	}
	return c.Relationships
}

func (d *desk) resolve(t testing.TB, convID parley.ID) {
	t.Helper()
	if _, err := d.db.ChangeStatus(ctx, conversations.StatusChange{AccountID: d.account.ID, ConversationID: convID, Actor: d.admin,
		Action: conversations.ActionResolve, At: t0.Add(time.Hour)}); err != nil {
		t.Fatalf("resolve %d: %v", convID, err)
	}
}

// assigneeEvents lists the conversation's assignee_changed events.
func (d *desk) assigneeEvents(t testing.TB, convID parley.ID) []conversations.Event {
	t.Helper()
	evs, _, err := d.db.ListEvents(ctx, d.account.ID, convID, conversations.Page{Limit: parley.MaxPageLimit})
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	var out []conversations.Event
	for _, e := range evs {
		if e.Type == conversations.EventAssigneeChanged {
			out = append(out, e)
		}
	}
	return out
}

func rrCursor(t testing.TB, db *store.DB, entryID parley.ID) int {
	t.Helper()
	return count(t, db, `SELECT rr_cursor FROM routing_entries WHERE id = ?`, entryID)
}

// rtPhone is the i-th contact phone of a routing test.
func rtPhone(i int) string { return fmt.Sprintf("+1415666%04d", i) }

func rtWho(id *parley.ID) string {
	if id == nil {
		return "nobody"
	}
	return id.String()
}

func rtCap(n int) *int { return &n }

func TestRoutingTableCRUD(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, sidA, bizA, 3)
		other := newDesk(t, db, sidB, bizB, 1)
		inbox, channel := d.inbox.ID, d.channel.ID
		entries := []routing.Entry{
			{
				Conditions: routing.Conditions{ContactType: "applicant", InboxID: &inbox, ChannelID: &channel,
					Attributes: map[string]any{"state": []any{"CA", "NY"}, "year": float64(2026), "vip": true}},
				UserIDs: d.ids(1, 0), Strategy: routing.RoundRobin, Capacity: rtCap(5),
			},
			{UserIDs: d.ids(2), Strategy: routing.Priority},
		}
		created := d.table(t, "Admissions", false, entries...)
		if created.ID == 0 || created.Entries[0].ID == 0 || created.Entries[1].ID == 0 || created.Entries[0].ID == created.Entries[1].ID {
			t.Fatalf("created %+v; want ids for the table and each entry", created)
		}

		got, err := db.GetRoutingTable(ctx, d.account.ID, created.ID)
		if err != nil {
			t.Fatalf("GetRoutingTable: %v", err)
		}
		if got.Name != "Admissions" || got.Default || got.AccountID != d.account.ID || !got.CreatedAt.Equal(t0) {
			t.Errorf("got %+v", got)
		}
		for i, e := range got.Entries {
			want := entries[i]
			want.ID = created.Entries[i].ID
			if !reflect.DeepEqual(e, want) {
				t.Errorf("entries[%d] = %+v\nwant        %+v", i, e, want)
			}
		}
		if _, err := db.GetRoutingTable(ctx, other.account.ID, created.ID); !parley.IsKind(err, parley.ENOTFOUND) {
			t.Errorf("another account's GetRoutingTable: %v; want ENOTFOUND", err)
		}

		t.Run("list pages by id, one account only", func(t *testing.T) {
			d.table(t, "Parents", false, routing.Entry{UserIDs: d.ids(0), Strategy: routing.LeastBusy})
			other.table(t, "Theirs", false, routing.Entry{UserIDs: other.ids(0), Strategy: routing.Priority})
			d.table(t, "Alumni", false, routing.Entry{UserIDs: d.ids(2), Strategy: routing.Priority})
			var names []string
			page := parley.Page{Limit: 2}
			for pages := 0; ; pages++ {
				ts, next, err := db.ListRoutingTables(ctx, d.account.ID, page)
				if err != nil {
					t.Fatalf("ListRoutingTables: %v", err)
				}
				if len(ts) > 2 || pages > 2 {
					t.Fatalf("page %d has %d tables", pages, len(ts))
				}
				for _, tb := range ts {
					names = append(names, tb.Name)
					if len(tb.Entries) == 0 {
						t.Errorf("listed table %s without its entries", tb.Name)
					}
				}
				if next == "" {
					break
				}
				page.Cursor = next
			}
			if want := []string{"Admissions", "Parents", "Alumni"}; !slices.Equal(names, want) {
				t.Errorf("listed %v; want %v", names, want)
			}
		})

		t.Run("replace swaps the entries and restarts round robin", func(t *testing.T) {
			exec(t, db, `UPDATE routing_entries SET rr_cursor = 1 WHERE id = ?`, created.Entries[0].ID)
			repl := routing.Table{ID: created.ID, AccountID: d.account.ID, Name: "Admissions 2026",
				Entries:   []routing.Entry{{UserIDs: d.ids(0, 1, 2), Strategy: routing.RoundRobin, Cursor: 2}},
				UpdatedAt: t0.Add(time.Hour)}
			out, err := db.ReplaceRoutingTable(ctx, repl)
			if err != nil {
				t.Fatalf("ReplaceRoutingTable: %v", err)
			}
			if !out.CreatedAt.Equal(t0) || !out.UpdatedAt.Equal(t0.Add(time.Hour)) {
				t.Errorf("replaced: created %v, updated %v; want created kept", out.CreatedAt, out.UpdatedAt)
			}
			got, err := db.GetRoutingTable(ctx, d.account.ID, created.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "Admissions 2026" || len(got.Entries) != 1 || !slices.Equal(got.Entries[0].UserIDs, d.ids(0, 1, 2)) {
				t.Fatalf("after replace %+v", got)
			}
			if got.Entries[0].Cursor != 0 || rrCursor(t, db, got.Entries[0].ID) != 0 {
				t.Errorf("round-robin cursor %d after replace; want 0", got.Entries[0].Cursor)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM routing_entries WHERE table_id = ?`, created.ID); n != 1 {
				t.Errorf("%d entry rows after replacing with one entry", n)
			}
		})

		t.Run("replace of a table that is not the account's", func(t *testing.T) {
			for name, tb := range map[string]routing.Table{
				"unknown id":        {ID: 999_999, AccountID: d.account.ID, Name: "X", Entries: []routing.Entry{{UserIDs: d.ids(0), Strategy: routing.Priority}}},
				"another account's": {ID: created.ID, AccountID: other.account.ID, Name: "Stolen", Entries: []routing.Entry{{UserIDs: other.ids(0), Strategy: routing.Priority}}},
			} {
				if _, err := db.ReplaceRoutingTable(ctx, tb); !parley.IsKind(err, parley.ENOTFOUND) {
					t.Errorf("%s: %v; want ENOTFOUND", name, err)
				}
			}
			if got, _ := db.GetRoutingTable(ctx, d.account.ID, created.ID); got.Name != "Admissions 2026" || len(got.Entries) != 1 {
				t.Errorf("a refused replace changed the table: %+v", got)
			}
		})

		t.Run("delete", func(t *testing.T) {
			if err := db.DeleteRoutingTable(ctx, other.account.ID, created.ID); !parley.IsKind(err, parley.ENOTFOUND) {
				t.Errorf("another account's delete: %v; want ENOTFOUND", err)
			}
			if err := db.DeleteRoutingTable(ctx, d.account.ID, created.ID); err != nil {
				t.Fatalf("DeleteRoutingTable: %v", err)
			}
			if _, err := db.GetRoutingTable(ctx, d.account.ID, created.ID); !parley.IsKind(err, parley.ENOTFOUND) {
				t.Errorf("Get after delete: %v; want ENOTFOUND", err)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM routing_entries WHERE table_id = ?`, created.ID); n != 0 {
				t.Errorf("%d entries left behind", n)
			}
			if err := db.DeleteRoutingTable(ctx, d.account.ID, created.ID); !parley.IsKind(err, parley.ENOTFOUND) {
				t.Errorf("second delete: %v; want ENOTFOUND", err)
			}
		})
	})
}

func TestRoutingTableDeleteInUse(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, sidA, bizA, 1)
		tb := d.table(t, "Admissions", false, routing.Entry{UserIDs: d.ids(0), Strategy: routing.Priority})
		ct := d.contactType(t, "applicant", "counselor", &tb)

		wantKind(t, db.DeleteRoutingTable(ctx, d.account.ID, tb.ID), parley.ECONFLICT, "table_in_use")
		if got, err := db.GetRoutingTable(ctx, d.account.ID, tb.ID); err != nil || len(got.Entries) != 1 {
			t.Fatalf("the refused delete touched the table: %+v, %v", got, err)
		}

		ct.RoutingTableID = nil
		if _, err := db.UpdateContactType(ctx, ct); err != nil {
			t.Fatalf("UpdateContactType: %v", err)
		}
		if err := db.DeleteRoutingTable(ctx, d.account.ID, tb.ID); err != nil {
			t.Fatalf("delete once no type uses it: %v", err)
		}
	})
}

func TestRoutingTableOneDefaultPerAccount(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, sidA, bizA, 1)
		other := newDesk(t, db, sidB, bizB, 1)
		entry := routing.Entry{UserIDs: d.ids(0), Strategy: routing.Priority}
		first := d.table(t, "Everyone", true, entry)

		_, err := db.CreateRoutingTable(ctx, routing.Table{AccountID: d.account.ID, Name: "Everyone else", Default: true,
			Entries: []routing.Entry{entry}, CreatedAt: t0, UpdatedAt: t0})
		wantKind(t, err, parley.ECONFLICT, "default_table_exists")

		second := d.table(t, "Parents", false, entry)
		second.Default = true
		_, err = db.ReplaceRoutingTable(ctx, second)
		wantKind(t, err, parley.ECONFLICT, "default_table_exists")
		if got, _ := db.GetRoutingTable(ctx, d.account.ID, second.ID); got.Default {
			t.Error("the refused replace made a second default table")
		}

		first.Name = "Everyone (renamed)"
		if _, err := db.ReplaceRoutingTable(ctx, first); err != nil {
			t.Errorf("replacing the default table itself: %v", err)
		}
		other.table(t, "Their default", true, routing.Entry{UserIDs: other.ids(0), Strategy: routing.Priority})

		first.Default = false
		if _, err := db.ReplaceRoutingTable(ctx, first); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ReplaceRoutingTable(ctx, second); err != nil {
			t.Errorf("moving the default to another table: %v", err)
		}
	})
}

func TestContactTypes(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, sidA, bizA, 1)
		other := newDesk(t, db, sidB, bizB, 1)
		mine := d.table(t, "Admissions", false, routing.Entry{UserIDs: d.ids(0), Strategy: routing.Priority})
		theirs := other.table(t, "Theirs", false, routing.Entry{UserIDs: other.ids(0), Strategy: routing.Priority})

		applicant := d.contactType(t, "applicant", "counselor", &mine)
		if applicant.ID == 0 || applicant.RoutingTableID == nil || *applicant.RoutingTableID != mine.ID || applicant.Relationship != "counselor" {
			t.Fatalf("created %+v", applicant)
		}
		parent := d.contactType(t, "parent", "advisor", nil)
		other.contactType(t, "applicant", "counselor", nil) // names are per account

		_, err := db.CreateContactType(ctx, routing.ContactType{AccountID: d.account.ID, Name: "applicant", Relationship: "mentor", CreatedAt: t0, UpdatedAt: t0})
		wantKind(t, err, parley.ECONFLICT, "contact_type_exists")

		for name, tableID := range map[string]parley.ID{"another account's table": theirs.ID, "no such table": 999_999} {
			_, err := db.CreateContactType(ctx, routing.ContactType{AccountID: d.account.ID, Name: "alumni", Relationship: "mentor",
				RoutingTableID: &tableID, CreatedAt: t0, UpdatedAt: t0})
			wantKind(t, err, parley.EINVALID)
			var pe *parley.Error
			if !errors.As(err, &pe) || pe.Fields["routing_table_id"] == "" {
				t.Errorf("%s: fields %v; want routing_table_id named", name, pe.Fields)
			}
			parent.RoutingTableID = &tableID
			_, err = db.UpdateContactType(ctx, parent)
			wantKind(t, err, parley.EINVALID)
		}

		parent.RoutingTableID = &mine.ID
		parent.Relationship = "family advisor"
		parent.UpdatedAt = t0.Add(time.Hour)
		updated, err := db.UpdateContactType(ctx, parent)
		if err != nil {
			t.Fatalf("UpdateContactType: %v", err)
		}
		if updated.Relationship != "family advisor" || *updated.RoutingTableID != mine.ID || !updated.CreatedAt.Equal(t0) {
			t.Errorf("updated %+v", updated)
		}

		parent.Name = "applicant"
		_, err = db.UpdateContactType(ctx, parent)
		wantKind(t, err, parley.ECONFLICT, "contact_type_exists")

		missing := parent
		missing.ID, missing.Name = 999_999, "ghost"
		_, err = db.UpdateContactType(ctx, missing)
		wantKind(t, err, parley.ENOTFOUND)
		theirType := parent
		theirType.AccountID, theirType.Name, theirType.RoutingTableID = other.account.ID, "hijack", nil
		_, err = db.UpdateContactType(ctx, theirType)
		wantKind(t, err, parley.ENOTFOUND)

		var names []string
		page := parley.Page{Limit: 1}
		for {
			cts, next, err := db.ListContactTypes(ctx, d.account.ID, page)
			if err != nil {
				t.Fatalf("ListContactTypes: %v", err)
			}
			for _, c := range cts {
				names = append(names, c.Name+"/"+c.Relationship)
			}
			if next == "" {
				break
			}
			page.Cursor = next
		}
		if want := []string{"applicant/counselor", "parent/family advisor"}; !slices.Equal(names, want) {
			t.Errorf("listed %v; want %v", names, want)
		}
	})
}

func TestAutoAssignOff(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, sidA, bizA, 2)
		tb := d.table(t, "Everyone", true, routing.Entry{UserIDs: d.ids(0, 1), Strategy: routing.RoundRobin})
		conv := d.textFrom(t, alice, 0)

		dec := d.autoAssign(t, conv.ID)
		if dec.UserID != nil || dec.Reason == "" {
			t.Fatalf("with auto-assignment off: %+v; want nobody and a reason", dec)
		}
		if a := d.assignee(t, conv.ID); a != nil {
			t.Fatalf("assigned to %s with auto-assignment off", a)
		}
		if evs := d.assigneeEvents(t, conv.ID); len(evs) != 0 {
			t.Errorf("events %+v with auto-assignment off", evs)
		}
		if c := rrCursor(t, db, tb.Entries[0].ID); c != 0 {
			t.Errorf("cursor moved to %d with auto-assignment off", c)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM notifications WHERE conversation_id = ?`, conv.ID); n != 0 {
			t.Errorf("%d notifications with auto-assignment off", n)
		}

		d.autoAssignment(t, true)
		if dec := d.autoAssign(t, conv.ID); rtWho(dec.UserID) != d.staff[0].ID.String() {
			t.Fatalf("after switching on: %+v; want %s", dec, d.staff[0].ID)
		}
		d.autoAssignment(t, false)
		next := d.textFrom(t, bob, time.Minute)
		if dec := d.autoAssign(t, next.ID); dec.UserID != nil {
			t.Errorf("after switching off again: assigned %s", rtWho(dec.UserID))
		}
	})
}

func TestAutoAssignRoundRobin(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, sidA, bizA, 3)
		d.autoAssignment(t, true)
		tb := d.table(t, "Admissions", false, routing.Entry{UserIDs: d.ids(0, 1, 2), Strategy: routing.RoundRobin})
		d.contactType(t, "applicant", "counselor", &tb)
		entryID := tb.Entries[0].ID

		steps := []struct {
			user   int // staff index
			cursor int // rr_cursor afterwards
		}{{0, 1}, {1, 2}, {2, 0}, {0, 1}}
		for i, s := range steps {
			c := d.contact(t, "applicant", nil, rtPhone(i))
			conv := d.textFrom(t, rtPhone(i), time.Duration(i)*time.Minute)
			dec := d.autoAssign(t, conv.ID)
			want := d.staff[s.user].ID
			if dec.UserID == nil || *dec.UserID != want {
				t.Fatalf("conversation %d: decided %s; want %s (%s)", i, rtWho(dec.UserID), want, dec.Reason)
			}
			if got := d.assignee(t, conv.ID); got == nil || *got != want {
				t.Fatalf("conversation %d: assignee %s; want %s", i, rtWho(got), want)
			}
			if dec.TableID != tb.ID || dec.EntryIndex != 0 || dec.Strategy != routing.RoundRobin || dec.Relationship != "counselor" || dec.Sticky {
				t.Errorf("decision %+v", dec)
			}
			if got := rrCursor(t, db, entryID); got != s.cursor {
				t.Errorf("after conversation %d rr_cursor = %d; want %d", i, got, s.cursor)
			}
			if rels := d.relationships(t, c.ID); len(rels) != 1 || rels["counselor"] != want {
				t.Errorf("contact %d relationships %v; want counselor %s", c.ID, rels, want)
			}

			evs := d.assigneeEvents(t, conv.ID)
			if len(evs) != 1 {
				t.Fatalf("conversation %d: %d assignee_changed events; want 1", i, len(evs))
			}
			ev := evs[0]
			if ev.ActorType != conversations.ActorSystem || ev.ActorID != nil {
				t.Errorf("event actor %s %v; want the system", ev.ActorType, ev.ActorID)
			}
			wantData := map[string]any{"from": nil, "to": want.String(), "reason": "auto_assigned", "table": "Admissions",
				"table_id": tb.ID.String(), "entry": float64(0), "strategy": "round_robin", "sticky": false}
			for k, v := range wantData {
				if !reflect.DeepEqual(ev.Data[k], v) {
					t.Errorf("event data %s = %#v; want %#v (data %v)", k, ev.Data[k], v, ev.Data)
				}
			}
			ns, _, err := db.ListNotifications(ctx, d.account.ID, want, conversations.Page{Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(ns, func(n conversations.Notification) bool {
				return n.ConversationID == conv.ID && n.Kind == conversations.NotifyAssigned
			}) {
				t.Errorf("user %s was not notified of conversation %d", want, conv.ID)
			}
		}

		t.Run("the cursor lives in the database", func(t *testing.T) {
			exec(t, db, `UPDATE routing_entries SET rr_cursor = 2 WHERE id = ?`, entryID)
			d.contact(t, "applicant", nil, rtPhone(50))
			conv := d.textFrom(t, rtPhone(50), time.Hour)
			if dec := d.autoAssign(t, conv.ID); rtWho(dec.UserID) != d.staff[2].ID.String() {
				t.Errorf("with rr_cursor 2 decided %s; want the third user %s", rtWho(dec.UserID), d.staff[2].ID)
			}
			if got := rrCursor(t, db, entryID); got != 0 {
				t.Errorf("rr_cursor = %d; want 0", got)
			}
		})
	})
}

func TestAutoAssignSticky(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, sidA, bizA, 3)
		d.autoAssignment(t, true)
		tb := d.table(t, "Admissions", false, routing.Entry{UserIDs: d.ids(0, 1, 2), Strategy: routing.RoundRobin, Capacity: rtCap(3)})
		d.contactType(t, "applicant", "counselor", &tb)
		entryID := tb.Entries[0].ID
		x := d.contact(t, "applicant", nil, rtPhone(1), rtPhone(2), rtPhone(3), rtPhone(4))
		d.contact(t, "applicant", nil, rtPhone(9))
		ana, ben, cleo := d.staff[0].ID, d.staff[1].ID, d.staff[2].ID

		first := d.textFrom(t, rtPhone(1), 0)
		if dec := d.autoAssign(t, first.ID); rtWho(dec.UserID) != ana.String() || dec.Sticky {
			t.Fatalf("first conversation: %+v; want %s by round robin", dec, ana)
		}
		someoneElse := d.textFrom(t, rtPhone(9), time.Minute)
		if dec := d.autoAssign(t, someoneElse.ID); rtWho(dec.UserID) != ben.String() {
			t.Fatalf("another contact: %s; want %s", rtWho(dec.UserID), ben)
		}

		second := d.textFrom(t, rtPhone(2), 2*time.Minute) // the same contact's second phone
		dec := d.autoAssign(t, second.ID)
		if rtWho(dec.UserID) != ana.String() || !dec.Sticky {
			t.Fatalf("the contact's second phone: %+v; want their counselor %s, sticky", dec, ana)
		}
		if got := rrCursor(t, db, entryID); got != 2 {
			t.Errorf("a sticky pick moved rr_cursor to %d; want it left at 2", got)
		}
		if evs := d.assigneeEvents(t, second.ID); len(evs) != 1 || evs[0].Data["sticky"] != true {
			t.Errorf("events %+v; want one that says sticky", evs)
		}

		t.Run("not while the counselor is unavailable", func(t *testing.T) {
			d.available(t, ana, false)
			defer d.available(t, ana, true)
			conv := d.textFrom(t, rtPhone(3), 3*time.Minute)
			dec := d.autoAssign(t, conv.ID)
			if rtWho(dec.UserID) != cleo.String() || dec.Sticky || len(dec.Passed) == 0 {
				t.Fatalf("%+v; want round robin's turn %s, explained in Passed", dec, cleo)
			}
			// The contact's counselor is now whoever took the conversation.
			if rels := d.relationships(t, x.ID); rels["counselor"] != cleo {
				t.Errorf("relationships %v; want counselor %s", rels, cleo)
			}
		})

		t.Run("not while the counselor is at capacity", func(t *testing.T) {
			// cleo holds 1 of x's conversations; give her two more.
			for i := range 2 {
				phone := rtPhone(20 + i)
				d.contact(t, "", nil, phone)
				conv := d.textFrom(t, phone, 4*time.Minute)
				d.staffAssign(t, d.admin, conv.ID, &cleo, t0)
			}
			conv := d.textFrom(t, rtPhone(4), 5*time.Minute)
			dec := d.autoAssign(t, conv.ID)
			if dec.UserID == nil || *dec.UserID == cleo || dec.Sticky {
				t.Fatalf("%+v; want someone other than the counselor at capacity", dec)
			}
		})
	})
}

func TestAutoAssignOnlyWaitingConversations(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, sidA, bizA, 2)
		d.autoAssignment(t, true)
		tb := d.table(t, "Everyone", true, routing.Entry{UserIDs: d.ids(0, 1), Strategy: routing.RoundRobin})
		ben := d.staff[1].ID

		for i, tc := range []struct {
			name     string
			status   conversations.Status
			assignee *parley.ID
		}{
			{"assigned already", conversations.StatusOpen, &ben},
			{"resolved", conversations.StatusResolved, nil},
			{"closed", conversations.StatusClosed, nil},
			{"pending", conversations.StatusPending, nil},
			{"snoozed", conversations.StatusSnoozed, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				conv := d.textFrom(t, rtPhone(i), 0)
				setStatus(t, db, conv.ID, tc.status, tc.assignee)
				dec := d.autoAssign(t, conv.ID)
				if dec.UserID != nil || dec.Reason == "" {
					t.Errorf("decision %+v; want nobody and a reason", dec)
				}
				if got := d.assignee(t, conv.ID); rtWho(got) != rtWho(tc.assignee) {
					t.Errorf("assignee %s; want %s", rtWho(got), rtWho(tc.assignee))
				}
				if evs := d.assigneeEvents(t, conv.ID); len(evs) != 0 {
					t.Errorf("events %+v", evs)
				}
			})
		}
		if c := rrCursor(t, db, tb.Entries[0].ID); c != 0 {
			t.Errorf("rr_cursor %d; nothing was assigned", c)
		}

		t.Run("a conversation of another account or none", func(t *testing.T) {
			other := newDesk(t, db, sidB, bizB, 1)
			other.autoAssignment(t, true)
			theirs := other.textFrom(t, alice, 0)
			for name, id := range map[string]parley.ID{"another account's": theirs.ID, "unknown": 999_999} {
				if _, err := db.AutoAssign(ctx, d.account.ID, id, t0); !parley.IsKind(err, parley.ENOTFOUND) {
					t.Errorf("%s: %v; want ENOTFOUND", name, err)
				}
			}
			if a := other.assignee(t, theirs.ID); a != nil {
				t.Errorf("another account's conversation was assigned to %s", a)
			}
		})
	})
}

func TestAutoAssignCapacity(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, sidA, bizA, 2)
		d.autoAssignment(t, true)
		d.table(t, "Everyone", true, routing.Entry{UserIDs: d.ids(0, 1), Strategy: routing.Priority, Capacity: rtCap(2)})
		ana, ben := d.staff[0].ID, d.staff[1].ID

		var convs []conversations.Conversation
		var got []string
		for i := range 5 {
			conv := d.textFrom(t, rtPhone(i), time.Duration(i)*time.Minute)
			convs = append(convs, conv)
			got = append(got, rtWho(d.autoAssign(t, conv.ID).UserID))
		}
		if want := []string{ana.String(), ana.String(), ben.String(), ben.String(), "nobody"}; !slices.Equal(got, want) {
			t.Fatalf("assigned %v; want %v", got, want)
		}
		if a := d.assignee(t, convs[4].ID); a != nil {
			t.Fatalf("the fifth conversation went to %s over capacity", a)
		}

		d.resolve(t, convs[1].ID) // ana has room again
		if dec := d.autoAssign(t, convs[4].ID); rtWho(dec.UserID) != ana.String() {
			t.Errorf("after ana resolved one: %s; want ana %s", rtWho(dec.UserID), ana)
		}

		t.Run("unavailable users are skipped", func(t *testing.T) {
			d.resolve(t, convs[0].ID)
			d.resolve(t, convs[2].ID)
			d.available(t, ana, false)
			conv := d.textFrom(t, rtPhone(10), time.Hour)
			if dec := d.autoAssign(t, conv.ID); rtWho(dec.UserID) != ben.String() {
				t.Errorf("with ana away: %s; want ben %s", rtWho(dec.UserID), ben)
			}
			d.available(t, ben, false)
			conv = d.textFrom(t, rtPhone(11), time.Hour)
			if dec := d.autoAssign(t, conv.ID); dec.UserID != nil {
				t.Errorf("with everyone away: %s; want nobody", rtWho(dec.UserID))
			}
		})
	})
}

func TestAutoAssignLeastBusyCountsNewAndOpen(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, sidA, bizA, 2)
		ana, ben := d.staff[0].ID, d.staff[1].ID
		// ana has plenty of conversations, none new or open; ben has one open.
		for i, s := range []conversations.Status{conversations.StatusPending, conversations.StatusSnoozed,
			conversations.StatusResolved, conversations.StatusClosed} {
			conv := d.textFrom(t, rtPhone(i), 0)
			setStatus(t, db, conv.ID, s, &ana)
		}
		setStatus(t, db, d.textFrom(t, rtPhone(10), 0).ID, conversations.StatusOpen, &ben)

		d.autoAssignment(t, true)
		d.table(t, "Everyone", true, routing.Entry{UserIDs: []parley.ID{ben, ana}, Strategy: routing.LeastBusy})
		var got []string
		for i := range 3 {
			conv := d.textFrom(t, rtPhone(20+i), time.Duration(i)*time.Minute)
			got = append(got, rtWho(d.autoAssign(t, conv.ID).UserID))
		}
		// ana (0 new+open) beats ben (1); then a tie goes to ben, first in
		// the pool; then ana has fewer again.
		if want := []string{ana.String(), ben.String(), ana.String()}; !slices.Equal(got, want) {
			t.Errorf("least busy picked %v; want %v", got, want)
		}
	})
}

func TestAutoAssignPicksTheContactsTable(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, sidA, bizA, 3)
		d.autoAssignment(t, true)
		ana, ben, cleo := d.staff[0].ID, d.staff[1].ID, d.staff[2].ID
		admissions := d.table(t, "Admissions", false, routing.Entry{UserIDs: []parley.ID{ana}, Strategy: routing.Priority})
		d.contactType(t, "applicant", "counselor", &admissions)
		d.contactType(t, "parent", "advisor", nil) // no table of its own

		untyped := d.textFrom(t, rtPhone(0), 0)
		if dec := d.autoAssign(t, untyped.ID); dec.UserID != nil || dec.Reason == "" {
			t.Fatalf("no default table: %+v; want nobody, with a reason", dec)
		}

		d.table(t, "Everyone", true,
			routing.Entry{Conditions: routing.Conditions{Attributes: map[string]any{"language": "es"}}, UserIDs: []parley.ID{cleo}, Strategy: routing.Priority},
			routing.Entry{UserIDs: []parley.ID{ben}, Strategy: routing.Priority})
		for i, tc := range []struct {
			name         string
			typ          string
			attrs        map[string]any
			want         parley.ID
			relationship string
		}{
			{"a contact type's own table", "applicant", nil, ana, "counselor"},
			{"the default table for a type without one", "parent", nil, ben, "advisor"},
			{"the default table for a contact without a type", "", nil, ben, ""},
			{"the default table for a type nobody defined", "sponsor", nil, ben, ""},
			{"attribute conditions read the contact's attributes", "", map[string]any{"language": "es"}, cleo, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				phone := rtPhone(100 + i)
				c := d.contact(t, tc.typ, tc.attrs, phone)
				conv := d.textFrom(t, phone, time.Minute)
				dec := d.autoAssign(t, conv.ID)
				if rtWho(dec.UserID) != tc.want.String() {
					t.Fatalf("decided %s; want %s (%s, passed %q)", rtWho(dec.UserID), tc.want, dec.Reason, dec.Passed)
				}
				rels := d.relationships(t, c.ID)
				if tc.relationship == "" && len(rels) != 0 {
					t.Errorf("relationships %v for a contact without a relationship", rels)
				}
				if tc.relationship != "" && (len(rels) != 1 || rels[tc.relationship] != tc.want) {
					t.Errorf("relationships %v; want %s: %s", rels, tc.relationship, tc.want)
				}
			})
		}

		if dec := d.autoAssign(t, untyped.ID); rtWho(dec.UserID) != ben.String() {
			t.Errorf("the waiting untyped conversation once a default exists: %s; want %s", rtWho(dec.UserID), ben)
		}
	})
}

func TestWaitingConversations(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newDesk(t, db, sidA, bizA, 1)
		b := newDesk(t, db, sidB, bizB, 1)
		a.autoAssignment(t, true)
		ana := a.staff[0].ID

		bFirst := b.textFrom(t, rtPhone(0), -time.Hour) // the oldest, but b does not auto-assign
		third := a.textFrom(t, rtPhone(1), 3*time.Minute)
		first := a.textFrom(t, rtPhone(2), 1*time.Minute)
		second := a.textFrom(t, rtPhone(3), 2*time.Minute)
		assigned := a.textFrom(t, rtPhone(4), 0)
		setStatus(t, db, assigned.ID, conversations.StatusOpen, &ana)
		for i, s := range []conversations.Status{conversations.StatusResolved, conversations.StatusPending, conversations.StatusSnoozed, conversations.StatusClosed} {
			setStatus(t, db, a.textFrom(t, rtPhone(5+i), 0).ID, s, nil)
		}
		open := a.textFrom(t, rtPhone(9), 4*time.Minute)
		setStatus(t, db, open.ID, conversations.StatusOpen, nil)

		// "account/conversation", in the order listed.
		wa := func(id parley.ID) string { return fmt.Sprintf("%d/%d", a.account.ID, id) }
		wb := func(id parley.ID) string { return fmt.Sprintf("%d/%d", b.account.ID, id) }
		check := func(name string, accountID parley.ID, limit int, want ...string) {
			t.Helper()
			ws, err := db.WaitingConversations(ctx, accountID, routing.Waiting{}, limit)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got := []string{}
			for _, w := range ws {
				got = append(got, fmt.Sprintf("%d/%d", w.AccountID, w.ID))
			}
			if want == nil {
				want = []string{}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: %v; want %v", name, got, want)
			}
		}
		check("one account, oldest first", a.account.ID, 10, wa(first.ID), wa(second.ID), wa(third.ID), wa(open.ID))
		check("limited", a.account.ID, 2, wa(first.ID), wa(second.ID))
		check("every account that auto-assigns", 0, 10, wa(first.ID), wa(second.ID), wa(third.ID), wa(open.ID))
		check("an account that does not auto-assign", b.account.ID, 10)

		b.autoAssignment(t, true)
		check("once it does", 0, 10, wb(bFirst.ID), wa(first.ID), wa(second.ID), wa(third.ID), wa(open.ID))
		a.autoAssignment(t, false)
		check("and the other stops", 0, 10, wb(bFirst.ID))
	})
}

func TestSimulate(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, sidA, bizA, 3)
		other := newDesk(t, db, sidB, bizB, 1)
		d.autoAssignment(t, true)
		ana, ben, cleo := d.staff[0].ID, d.staff[1].ID, d.staff[2].ID
		inbox := d.inbox.ID
		tb := d.table(t, "Admissions", false,
			routing.Entry{Conditions: routing.Conditions{InboxID: &inbox}, UserIDs: []parley.ID{ana, ben}, Strategy: routing.RoundRobin},
			routing.Entry{UserIDs: []parley.ID{cleo}, Strategy: routing.Priority})
		d.contactType(t, "applicant", "counselor", &tb)
		exec(t, db, `UPDATE routing_entries SET rr_cursor = 1 WHERE id = ?`, tb.Entries[0].ID)

		texted := d.contact(t, "applicant", nil, rtPhone(1))
		conv := d.textFrom(t, rtPhone(1), 0)
		for range 2 { // asking twice gives the same answer: nothing moved
			dec, err := db.Simulate(ctx, d.account.ID, tb.ID, texted.ID)
			if err != nil {
				t.Fatalf("Simulate: %v", err)
			}
			if rtWho(dec.UserID) != ben.String() || dec.EntryIndex != 0 || dec.Strategy != routing.RoundRobin || dec.Reason == "" || dec.Relationship != "counselor" {
				t.Fatalf("simulated %+v; want ben %s by entries[0]", dec, ben)
			}
		}
		if a := d.assignee(t, conv.ID); a != nil {
			t.Errorf("Simulate assigned the conversation to %s", a)
		}
		if evs := d.assigneeEvents(t, conv.ID); len(evs) != 0 {
			t.Errorf("Simulate wrote events %+v", evs)
		}
		if c := rrCursor(t, db, tb.Entries[0].ID); c != 1 {
			t.Errorf("Simulate moved rr_cursor to %d", c)
		}
		if rels := d.relationships(t, texted.ID); len(rels) != 0 {
			t.Errorf("Simulate recorded relationships %v", rels)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM notifications WHERE conversation_id = ?`, conv.ID); n != 0 {
			t.Errorf("Simulate notified: %d", n)
		}

		t.Run("a contact that never texted", func(t *testing.T) {
			silent := d.contact(t, "applicant", nil, rtPhone(2))
			dec, err := db.Simulate(ctx, d.account.ID, tb.ID, silent.ID)
			if err != nil {
				t.Fatalf("Simulate: %v", err)
			}
			// No conversation, so no inbox: the inbox entry cannot match.
			if rtWho(dec.UserID) != cleo.String() || dec.EntryIndex != 1 || len(dec.Passed) != 1 {
				t.Errorf("simulated %+v; want cleo %s by entries[1], entries[0] passed over", dec, cleo)
			}
		})

		t.Run("the contact's counselor is preferred", func(t *testing.T) {
			if dec := d.autoAssign(t, conv.ID); rtWho(dec.UserID) != ben.String() {
				t.Fatalf("AutoAssign: %s", rtWho(dec.UserID))
			}
			dec, err := db.Simulate(ctx, d.account.ID, tb.ID, texted.ID)
			if err != nil {
				t.Fatal(err)
			}
			if rtWho(dec.UserID) != ben.String() || !dec.Sticky {
				t.Errorf("simulated %+v; want the counselor ben %s, sticky", dec, ben)
			}
		})

		t.Run("unknown or another account's", func(t *testing.T) {
			theirs := other.table(t, "Theirs", false, routing.Entry{UserIDs: other.ids(0), Strategy: routing.Priority})
			theirContact := other.contact(t, "", nil, rtPhone(3))
			for name, args := range map[string][2]parley.ID{
				"unknown table":             {999_999, texted.ID},
				"another account's table":   {theirs.ID, texted.ID},
				"unknown contact":           {tb.ID, 999_999},
				"another account's contact": {tb.ID, theirContact.ID},
			} {
				if _, err := db.Simulate(ctx, d.account.ID, args[0], args[1]); !parley.IsKind(err, parley.ENOTFOUND) {
					t.Errorf("%s: %v; want ENOTFOUND", name, err)
				}
			}
		})
	})
}

// TestSweepReachesWaitingConversationsBehindABacklog: when capacity frees,
// the conversations the freed user's entries match must be assigned, even
// when older conversations that nobody can take wait ahead of them.
func TestSweepReachesWaitingConversationsBehindABacklog(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, sidA, bizA, 2)
		d.autoAssignment(t, true)
		overnight, counselor := d.staff[0].ID, d.staff[1].ID
		// Contacts without a type go to the overnight team, which is away.
		d.table(t, "Overnight", true, routing.Entry{UserIDs: []parley.ID{overnight}, Strategy: routing.Priority})
		d.available(t, overnight, false)
		admissions := d.table(t, "Admissions", false, routing.Entry{UserIDs: []parley.ID{counselor}, Strategy: routing.Priority})
		d.contactType(t, "applicant", "counselor", &admissions)

		const backlog = 250 // more than one sweep batch
		for i := range backlog {
			d.textFrom(t, rtPhone(i), time.Duration(i)*time.Second)
		}
		d.contact(t, "applicant", nil, rtPhone(backlog))
		applicant := d.textFrom(t, rtPhone(backlog), time.Hour)

		// The counselor was away when the applicant texted; now they are back.
		a := &routing.Assigner{Store: db, Clock: &parley.FixedClock{T: t0.Add(2 * time.Hour)}, Log: zerolog.Nop()}
		a.Sweep(ctx, d.account.ID)
		if got := d.assignee(t, applicant.ID); got == nil || *got != counselor {
			t.Errorf("after the sweep the applicant's conversation is assigned to %s; want the available counselor %s "+
				"(%d older conversations nobody can take wait ahead of it)", rtWho(got), counselor, backlog)
		}
	})
}

// TestAutoAssignConcurrentRoundRobin: several instances assigning at once
// still rotate fairly, because decisions are serialised per account.
func TestAutoAssignConcurrentRoundRobin(t *testing.T) {
	t.Parallel()
	const (
		workers = 8
		each    = 25
		total   = workers * each
		pool    = 5
	)
	for _, tc := range []struct {
		name       string
		capacity   *int
		perUser    int
		assigned   int
		wantCursor int
	}{
		{"no capacity", nil, total / pool, total, (2 + total) % pool},
		{"capacity 30", rtCap(30), 30, 30 * pool, (2 + 30*pool) % pool},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := storetest.MustOpen(t, "postgres")
			d := newDesk(t, db, sidA, bizA, pool)
			d.autoAssignment(t, true)
			tb := d.table(t, "Everyone", true, routing.Entry{UserIDs: d.ids(0, 1, 2, 3, 4), Strategy: routing.RoundRobin, Capacity: tc.capacity})
			exec(t, db, `UPDATE routing_entries SET rr_cursor = 2 WHERE id = ?`, tb.Entries[0].ID)
			convs := make([]parley.ID, total)
			for i := range convs {
				convs[i] = d.textFrom(t, rtPhone(i), time.Duration(i)*time.Millisecond).ID
			}

			var wg sync.WaitGroup
			errs := make(chan error, total)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := range each {
						if _, err := db.AutoAssign(ctx, d.account.ID, convs[k*workers+w], t0.Add(time.Hour)); err != nil {
							errs <- err
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("AutoAssign: %v", err)
			}

			for _, u := range d.staff {
				if n := count(t, db, `SELECT COUNT(*) FROM conversations WHERE assignee_id = ?`, u.ID); n != tc.perUser {
					t.Errorf("user %s got %d conversations; want %d", u.ID, n, tc.perUser)
				}
			}
			if n := count(t, db, `SELECT COUNT(*) FROM conversations WHERE account_id = ? AND assignee_id IS NOT NULL`, d.account.ID); n != tc.assigned {
				t.Errorf("%d conversations assigned; want %d", n, tc.assigned)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM conversation_events WHERE account_id = ? AND type = 'assignee_changed'`, d.account.ID); n != tc.assigned {
				t.Errorf("%d assignee_changed events; want one per assignment, %d", n, tc.assigned)
			}
			if c := rrCursor(t, db, tb.Entries[0].ID); c != tc.wantCursor {
				t.Errorf("rr_cursor ended at %d; want %d", c, tc.wantCursor)
			}
		})
	}
}
