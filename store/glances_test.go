package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

// TestConversationGlances: a list row's latest text (not a note), its
// assignee's name, and unread for each person until they open it, until
// the next inbound text.
func TestConversationGlances(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)
		ann := a.staffUser(t, "ann@example.com", conversations.RoleAgent, false)
		at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }

		long := strings.Repeat("é", 200)
		first := a.receive(t, text{from: alice, body: "first words", at: at(1)}).Conversation
		a.receive(t, text{from: alice, body: long, at: at(2)})
		note := conversations.Note{AccountID: a.account.ID, ConversationID: first.ID, Author: a.admin, Body: "a note, not a text", At: at(3)}
		if _, err := db.AddNote(ctx, note); err != nil {
			t.Fatal(err)
		}
		second := a.receive(t, text{from: bob, body: "hi", at: at(1)}).Conversation
		a.staffAssign(t, a.admin, second.ID, &ann.ID, at(2))
		reply := conversations.Reply{AccountID: a.account.ID, ConversationID: second.ID, Author: ann, Body: "On it", At: at(4)}
		if err := reply.Validate(); err != nil {
			t.Fatal(err)
		}
		if _, err := db.QueueReply(ctx, reply); err != nil {
			t.Fatal(err)
		}
		elsewhere := b.receive(t, text{from: alice, body: "other account", at: at(1)}).Conversation

		glance := func(t *testing.T, user parley.ID) map[parley.ID]conversations.Glance {
			t.Helper()
			g, err := db.GlanceConversations(ctx, a.account.ID, user, []parley.ID{first.ID, second.ID, elsewhere.ID})
			if err != nil {
				t.Fatalf("GlanceConversations: %v", err)
			}
			return g
		}
		unread := func(t *testing.T, user, convID parley.ID) bool {
			t.Helper()
			c, err := db.GetConversation(ctx, a.account.ID, convID)
			if err != nil {
				t.Fatal(err)
			}
			return glance(t, user)[convID].Unread(c)
		}

		t.Run("rows", func(t *testing.T) {
			g := glance(t, ann.ID)
			if len(g) != 2 {
				t.Fatalf("glances = %v; want the account's two (not the other account's)", g)
			}
			if got := g[first.ID]; got.LastText != strings.Repeat("é", 160) || got.LastTextDirection != conversations.Inbound || got.AssigneeName != "" {
				t.Errorf("first = %+v; want the start of the latest inbound text, nobody's", got)
			}
			if got := g[second.ID]; got.LastText != "On it" || got.LastTextDirection != conversations.Outbound || got.AssigneeName != ann.Name {
				t.Errorf("second = %+v; want ann's reply, assigned to %s", got, ann.Name)
			}
		})
		t.Run("unread until opened, per person", func(t *testing.T) {
			if !unread(t, ann.ID, first.ID) || !unread(t, a.admin.ID, first.ID) {
				t.Fatal("a conversation nobody opened is read")
			}
			if err := db.MarkConversationRead(ctx, a.account.ID, ann.ID, first.ID, at(5)); err != nil {
				t.Fatalf("MarkConversationRead: %v", err)
			}
			if unread(t, ann.ID, first.ID) {
				t.Error("unread after ann opened it")
			}
			if !unread(t, a.admin.ID, first.ID) {
				t.Error("ann opening it made it read for the admin too")
			}
			if err := db.MarkConversationRead(ctx, a.account.ID, ann.ID, first.ID, at(4)); err != nil {
				t.Fatalf("MarkConversationRead earlier: %v", err)
			}
			if got := glance(t, ann.ID)[first.ID].ReadAt; got == nil || !got.Equal(at(5)) {
				t.Errorf("read at %v after an earlier open; want %v kept", got, at(5))
			}
			a.receive(t, text{from: alice, body: "are you there?", at: at(6)})
			if !unread(t, ann.ID, first.ID) {
				t.Error("read after a new inbound text")
			}
		})
		t.Run("another account's conversation", func(t *testing.T) {
			wantKind(t, db.MarkConversationRead(ctx, a.account.ID, ann.ID, elsewhere.ID, at(7)), parley.ENOTFOUND)
		})
		t.Run("no ids", func(t *testing.T) {
			if g, err := db.GlanceConversations(ctx, a.account.ID, ann.ID, nil); err != nil || len(g) != 0 {
				t.Errorf("GlanceConversations(nil) = %v, %v", g, err)
			}
		})
	})
}
