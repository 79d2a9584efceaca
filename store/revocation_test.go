package store_test

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/optout"
	"github.com/parleyhq/parley/store"
)

// A flag keeps the text that raised it; the inbox's filter finds it;
// recording the opt-out it asks for puts that text in the consent log as
// the evidence, with who recorded it, and clears the flag; a dismissal
// clears it and opts nobody out; a conversation without a flag cannot be
// answered.
func TestAnswerRevocation(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		first := a.receive(t, text{from: alice, body: "please stop texting me"})
		again := a.receive(t, text{from: alice, body: "I said stop texting me", at: t0.Add(time.Minute)})
		flag := again.Conversation.Revocation
		if flag == nil || flag.MessageID != first.Message.ID || !flag.At.Equal(t0) {
			t.Fatalf("flag = %+v; want the first flagged text %d at %v", flag, first.Message.ID, t0)
		}
		a.receive(t, text{from: bob, body: "see you at 5"})
		listed, _, err := db.FindConversations(ctx, conversations.ConversationFilter{AccountID: a.account.ID, RevocationFlagged: true})
		if err != nil || len(listed) != 1 || listed[0].ID != first.Conversation.ID {
			t.Fatalf("revocation_flagged lists %v, %v; want alice's conversation alone", listed, err)
		}

		at := t0.Add(time.Hour)
		c, err := db.AnswerRevocation(ctx, a.account.ID, first.Conversation.ID, a.admin, conversations.RevocationOptedOut, at)
		if err != nil {
			t.Fatal(err)
		}
		if c.Revocation != nil || c.RevocationFlaggedAt != nil || !c.OptedOut {
			t.Errorf("after recording the opt-out: flag %+v, opted out %v", c.Revocation, c.OptedOut)
		}
		events, _, err := db.ListConsentEvents(ctx, a.account.ID, alice, parley.Page{Limit: 10})
		if err != nil || len(events) != 1 {
			t.Fatalf("consent log %+v, %v", events, err)
		}
		if e := events[0]; e.Action != optout.ActionOptOut || e.Source != optout.SourceStaff || e.MessageID == nil || *e.MessageID != first.Message.ID ||
			e.UserID == nil || *e.UserID != a.admin.ID || !e.CreatedAt.Equal(at) {
			t.Errorf("consent event %+v; want a staff opt-out by the admin with the flagged text as evidence", e)
		}
		if got := eventTypes(t, db, c.ID); got[len(got)-1] != string(conversations.EventRevocationAnswered) {
			t.Errorf("activity %v; want it to end with the answer", got)
		}
		_, err = db.AnswerRevocation(ctx, a.account.ID, c.ID, a.admin, conversations.RevocationDismissed, at)
		wantKind(t, err, parley.ECONFLICT)

		bobs := a.receive(t, text{from: bob, body: "leave me alone", at: t0.Add(2 * time.Minute)})
		c, err = db.AnswerRevocation(ctx, a.account.ID, bobs.Conversation.ID, a.admin, conversations.RevocationDismissed, at)
		if err != nil || c.Revocation != nil || c.OptedOut {
			t.Errorf("dismissed: %+v, %v; want the flag gone and bob still subscribed", c, err)
		}
		_, err = db.AnswerRevocation(ctx, a.account.ID, bobs.Conversation.ID, a.admin, "maybe", at)
		wantKind(t, err, parley.EINVALID)

		// Dismissed, then said again: a new flag, with the new text.
		again2 := a.receive(t, text{from: bob, body: "seriously, take me off your list", at: t0.Add(3 * time.Minute)})
		if f := again2.Conversation.Revocation; f == nil || f.MessageID != again2.Message.ID || !f.At.Equal(t0.Add(3*time.Minute)) {
			t.Errorf("raised again after a dismissal: %+v; want the new text", f)
		}
		// An agent who may not act on it cannot answer it.
		agent, _, err := db.CreateUser(ctx, a.account.ID, conversations.NewUser{Email: "agent-answer@example.com", Name: "Al", Role: conversations.RoleAgent},
			conversations.NewTokenSecret(), t0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Assign(ctx, conversations.Assignment{AccountID: a.account.ID, ConversationID: bobs.Conversation.ID, AssigneeID: &a.admin.ID,
			Actor: a.admin, At: at}); err != nil {
			t.Fatal(err)
		}
		_, err = db.AnswerRevocation(ctx, a.account.ID, bobs.Conversation.ID, agent, conversations.RevocationOptedOut, at)
		wantKind(t, err, parley.EFORBIDDEN)
	})
}

// An opt-out, however made, clears the phone's flags; a phone already
// opted out raises none.
func TestOptOutClearsRevocationFlags(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		flagged := a.receive(t, text{from: alice, body: "please stop texting me"})
		if flagged.Conversation.Revocation == nil {
			t.Fatal("not flagged")
		}
		stop := a.receive(t, text{from: alice, body: "STOP", at: t0.Add(time.Minute)})
		if c := stop.Conversation; c.Revocation != nil || c.RevocationFlaggedAt != nil || !c.OptedOut {
			t.Errorf("after STOP: flag %+v, opted out %v; want no flag", c.Revocation, c.OptedOut)
		}
		after := a.receive(t, text{from: alice, body: "and remove me from your list", at: t0.Add(2 * time.Minute)})
		if after.Conversation.Revocation != nil {
			t.Errorf("an opted-out phone raised a flag: %+v", after.Conversation.Revocation)
		}
		staff := a.receive(t, text{from: bob, body: "leave me alone"})
		if _, err := db.RecordConsent(ctx, optout.Change{AccountID: a.account.ID, Phone: bob, Action: optout.ActionOptOut,
			Source: optout.SourceStaff, UserID: &a.admin.ID, At: t0.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if c := a.conv(t, staff.Conversation.ID); c.Revocation != nil {
			t.Errorf("after a staff opt-out: flag %+v; want none", c.Revocation)
		}
	})
}

// A flag unanswered for a day is told once: to the assignee, or to every
// active admin when nobody has the conversation.
func TestRemindUnansweredRevocations(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		admin2, _, err := db.CreateUser(ctx, a.account.ID, conversations.NewUser{Email: "second-admin@example.com", Name: "Sam", Role: conversations.RoleAdmin},
			conversations.NewTokenSecret(), t0)
		if err != nil {
			t.Fatal(err)
		}
		agent, _, err := db.CreateUser(ctx, a.account.ID, conversations.NewUser{Email: "agent-rev@example.com", Name: "Ann", Role: conversations.RoleAgent},
			conversations.NewTokenSecret(), t0)
		if err != nil {
			t.Fatal(err)
		}
		gone, _, err := db.CreateUser(ctx, a.account.ID, conversations.NewUser{Email: "gone-admin@example.com", Name: "Gus", Role: conversations.RoleAdmin},
			conversations.NewTokenSecret(), t0)
		if err != nil {
			t.Fatal(err)
		}
		inactive := false
		if _, err := db.UpdateUser(ctx, a.account.ID, gone.ID, conversations.UserPatch{Active: &inactive}, t0); err != nil {
			t.Fatal(err)
		}
		unassigned := a.receive(t, text{from: alice, body: "please stop texting me"}).Conversation
		assigned := a.receive(t, text{from: bob, body: "remove me from your list"}).Conversation
		if _, err := db.Assign(ctx, conversations.Assignment{AccountID: a.account.ID, ConversationID: assigned.ID, AssigneeID: &agent.ID,
			Actor: a.admin, At: t0}); err != nil {
			t.Fatal(err)
		}
		a.receive(t, text{from: "+14155550177", body: "no more texts please", at: t0.Add(23 * time.Hour)}) // not a day old yet

		day := t0.Add(conversations.RevocationReminderAfter + time.Hour)
		n, err := db.RemindUnansweredRevocations(ctx, day.Add(-conversations.RevocationReminderAfter), day)
		if err != nil || n != 2 {
			t.Fatalf("reminded of %d flags, %v; want 2", n, err)
		}
		for user, want := range map[parley.ID]parley.ID{a.admin.ID: unassigned.ID, admin2.ID: unassigned.ID, agent.ID: assigned.ID, gone.ID: 0} {
			ns, _, err := db.ListNotifications(ctx, a.account.ID, user, parley.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var got []parley.ID
			for _, n := range ns {
				if n.Kind == conversations.NotifyRevocationUnanswered {
					got = append(got, n.ConversationID)
				}
			}
			if (want == 0 && len(got) != 0) || (want != 0 && (len(got) != 1 || got[0] != want)) {
				t.Errorf("user %d was reminded of %v; want conversation %d (0: none, an inactive admin)", user, got, want)
			}
		}
		if n, err := db.RemindUnansweredRevocations(ctx, day.Add(-conversations.RevocationReminderAfter), day.Add(time.Minute)); err != nil || n != 0 {
			t.Errorf("a second pass reminded of %d flags, %v; want none", n, err)
		}
	})
}
