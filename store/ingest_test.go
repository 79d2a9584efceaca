package store_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/optout"
	"github.com/parleyhq/parley/store"
)

const (
	alice  = "+14155551234"
	alice2 = "+14155555678"
	bob    = "+14155559876"
)

// outboxRow is a queued text as the dispatcher will see it.
type outboxRow struct {
	Purpose string `db:"purpose"`
	To      string `db:"to_phone"`
	Body    string `db:"body"`
}

func outbox(t testing.TB, db *store.DB) []outboxRow {
	t.Helper()
	var rows []outboxRow
	err := db.SQL().SelectContext(ctx, &rows, `SELECT o.purpose, o.to_phone, m.body FROM outbox o JOIN messages m ON m.id = o.message_id ORDER BY o.id`)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// setStatus puts a conversation where staff actions (not built yet) would.
func setStatus(t testing.TB, db *store.DB, convID parley.ID, status conversations.Status, assignee *parley.ID) {
	t.Helper()
	exec(t, db, `UPDATE conversations SET status = ?, assignee_id = ?, snoozed_until = ? WHERE id = ?`,
		string(status), assignee, snoozedUntil(status), convID)
}

func snoozedUntil(s conversations.Status) *int64 {
	if s != conversations.StatusSnoozed {
		return nil
	}
	v := t0.Add(24 * time.Hour).UnixMilli()
	return &v
}

func TestIngestFirstText(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		res := a.receive(t, text{from: alice, body: "Hi, is the clinic open on Saturday?", sid: "SM1", segments: 1})

		if !res.Created || res.Duplicate || res.Reply != nil {
			t.Errorf("result = %+v; want a created conversation, no reply", res)
		}
		c := res.Conversation
		if c.Status != conversations.StatusNew || c.ContactPhone != alice || c.BusinessPhone != bizA || c.ChannelID != a.channel.ID ||
			c.InboxID != a.inbox.ID || c.AssigneeID != nil || c.Priority != conversations.PriorityNone || c.OptedOut ||
			!c.LastMessageAt.Equal(t0) || c.LastInboundAt == nil || !c.LastInboundAt.Equal(t0) || !c.CreatedAt.Equal(t0) {
			t.Errorf("conversation = %+v", c)
		}
		if !res.NeedsAssignment() {
			t.Error("a first text must trigger auto-assignment")
		}
		m := res.Message
		if m.Direction != conversations.Inbound || m.Kind != conversations.KindText || m.Status != conversations.MessageReceived ||
			m.Body != "Hi, is the clinic open on Saturday?" || m.CarrierMessageID != "SM1" || m.ConversationID != c.ID || m.Segments != 1 {
			t.Errorf("message = %+v", m)
		}
		contact, err := db.GetContact(ctx, a.account.ID, c.ContactID)
		if err != nil || !slices.Equal(contact.Phones, []string{alice}) || contact.Name != "" {
			t.Errorf("contact = %+v, %v; want an unnamed contact with alice's phone", contact, err)
		}
		if got := eventTypes(t, db, c.ID); !slices.Equal(got, []string{"created"}) {
			t.Errorf("events = %v; want [created]", got)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM contacts`); n != 1 {
			t.Errorf("%d contacts; want 1", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM conversations`); n != 1 {
			t.Errorf("%d conversations; want 1", n)
		}
		if got, err := db.GetConversation(ctx, a.account.ID, c.ID); err != nil || !reflect.DeepEqual(got, c) {
			t.Errorf("GetConversation = %+v, %v; want %+v", got, err, c)
		}
	})
}

func TestIngestThreads(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, db *store.DB, a *tenant)
	}{
		{"second text joins the thread", func(t *testing.T, db *store.DB, a *tenant) {
			first := a.receive(t, text{from: alice, body: "hello"})
			second := a.receive(t, text{from: alice, body: "anyone there?", at: t0.Add(time.Minute)})
			if second.Conversation.ID != first.Conversation.ID || second.Created || second.Transition.Changed {
				t.Errorf("second text: %+v", second)
			}
			if second.Conversation.Status != conversations.StatusNew || !second.Conversation.LastMessageAt.Equal(t0.Add(time.Minute)) {
				t.Errorf("conversation after second text = %+v", second.Conversation)
			}
			if second.NeedsAssignment() {
				t.Error("a text on an unchanged new conversation re-triggered auto-assignment")
			}
			if n := count(t, db, `SELECT COUNT(*) FROM messages WHERE conversation_id = ?`, first.Conversation.ID); n != 2 {
				t.Errorf("%d messages; want 2", n)
			}
			if got := eventTypes(t, db, first.Conversation.ID); !slices.Equal(got, []string{"created"}) {
				t.Errorf("events = %v; want only [created]", got)
			}
		}},
		{"second phone of a contact has its own conversation", func(t *testing.T, db *store.DB, a *tenant) {
			jane := newContact(t, db, a.account.ID, "Jane", alice, alice2)
			one := a.receive(t, text{from: alice, body: "from my cell"})
			two := a.receive(t, text{from: alice2, body: "from my work phone"})
			if one.Conversation.ID == two.Conversation.ID || !two.Created {
				t.Fatalf("two phones share conversation %d", one.Conversation.ID)
			}
			for _, r := range []conversations.IngestResult{one, two} {
				if r.Conversation.ContactID != jane.ID || r.Conversation.ContactName != "Jane" {
					t.Errorf("conversation %+v does not belong to Jane (%d)", r.Conversation, jane.ID)
				}
			}
			if n := count(t, db, `SELECT COUNT(*) FROM contacts`); n != 1 {
				t.Errorf("%d contacts; want Jane only", n)
			}
		}},
		{"same phone, another channel, another conversation", func(t *testing.T, db *store.DB, a *tenant) {
			a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, PhoneNumber: bizA2})
			one := a.receive(t, text{from: alice, body: "to the main line"})
			two := a.receive(t, text{from: alice, to: bizA2, body: "to the second line"})
			if one.Conversation.ID == two.Conversation.ID || one.Conversation.ContactID != two.Conversation.ContactID {
				t.Errorf("conversations %+v and %+v; want two threads of one contact", one.Conversation, two.Conversation)
			}
		}},
		{"pool number texted is remembered", func(t *testing.T, db *store.DB, a *tenant) {
			a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, MessagingServiceSID: mgA})
			one := a.receive(t, text{from: alice, to: "+14155550150", service: mgA, body: "hi"})
			two := a.receive(t, text{from: alice, to: "+14155550151", service: mgA, body: "hi again", at: t0.Add(time.Second)})
			if one.Conversation.ID != two.Conversation.ID {
				t.Fatal("two pool numbers split one contact's thread with the service")
			}
			if two.Conversation.BusinessPhone != "+14155550151" {
				t.Errorf("business phone = %s; want the number last texted", two.Conversation.BusinessPhone)
			}
		}},
		{"texts arriving out of order keep the latest activity", func(t *testing.T, db *store.DB, a *tenant) {
			a.receive(t, text{from: alice, body: "later", at: t0.Add(10 * time.Second)})
			res := a.receive(t, text{from: alice, body: "earlier", at: t0.Add(5 * time.Second)})
			if !res.Conversation.LastMessageAt.Equal(t0.Add(10*time.Second)) || !res.Conversation.LastInboundAt.Equal(t0.Add(10*time.Second)) {
				t.Errorf("last message at %v, last inbound at %v; want %v for both", res.Conversation.LastMessageAt, res.Conversation.LastInboundAt, t0.Add(10*time.Second))
			}
		}},
		{"media and segments are kept", func(t *testing.T, db *store.DB, a *tenant) {
			media := []string{"https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM1/Media/ME1", "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM1/Media/ME2"}
			res := a.receive(t, text{from: alice, body: "", media: media, segments: 3})
			msgs, _, err := db.ListMessages(ctx, a.account.ID, res.Conversation.ID, conversations.Page{})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []conversations.Message{res.Message, msgs[0]} {
				if !slices.Equal(m.MediaURLs, media) || m.Segments != 3 || m.Body != "" {
					t.Errorf("message = %+v; want media %v and 3 segments", m, media)
				}
			}
			plain := a.receive(t, text{from: bob, body: "no pictures"})
			if plain.Message.MediaURLs == nil || len(plain.Message.MediaURLs) != 0 {
				t.Errorf("a text without media has media %#v; want an empty list", plain.Message.MediaURLs)
			}
		}},
		{"duplicate carrier id changes nothing", func(t *testing.T, db *store.DB, a *tenant) {
			first := a.receive(t, text{from: alice, body: "STOP", sid: "SMdup"})
			rows := func() [4]int {
				return [4]int{count(t, db, `SELECT COUNT(*) FROM messages`), count(t, db, `SELECT COUNT(*) FROM conversation_events`),
					count(t, db, `SELECT COUNT(*) FROM consent_events`), count(t, db, `SELECT COUNT(*) FROM outbox`)}
			}
			before := rows()
			again := a.receive(t, text{from: alice, body: "STOP", sid: "SMdup", at: t0.Add(time.Minute)})
			if !again.Duplicate || again.Message.ID != first.Message.ID || again.Conversation.ID != first.Conversation.ID || again.Reply != nil {
				t.Errorf("retried webhook = %+v; want Duplicate with the first message", again)
			}
			if after := rows(); after != before {
				t.Errorf("rows (messages, events, consent events, outbox) = %v after a duplicate; want %v", after, before)
			}
			if !again.Conversation.LastMessageAt.Equal(t0) {
				t.Errorf("a duplicate moved last_message_at to %v", again.Conversation.LastMessageAt)
			}
			// The same id on another channel is another text.
			a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, PhoneNumber: bizA2})
			other := a.receive(t, text{from: alice, to: bizA2, body: "hello", sid: "SMdup"})
			if other.Duplicate {
				t.Error("the same carrier id on another channel was taken for a duplicate")
			}
		}},
		{"texts without a carrier id are all kept", func(t *testing.T, db *store.DB, a *tenant) {
			for i, body := range []string{"one", "two"} {
				res := a.receive(t, text{from: alice, body: body, noSID: true, at: t0.Add(time.Duration(i) * time.Second)})
				if res.Duplicate || res.Message.Body != body || res.Message.CarrierMessageID != "" {
					t.Errorf("text %q without an id = %+v; want it stored", body, res)
				}
			}
			if n := count(t, db, `SELECT COUNT(*) FROM messages`); n != 2 {
				t.Errorf("%d messages; want 2", n)
			}
		}},
		{"revocation in plain words is flagged, not an opt-out", func(t *testing.T, db *store.DB, a *tenant) {
			res := a.receive(t, text{from: alice, body: "please stop texting me"})
			c := res.Conversation
			if c.RevocationFlaggedAt == nil || !c.RevocationFlaggedAt.Equal(t0) {
				t.Errorf("RevocationFlaggedAt = %v; want %v", c.RevocationFlaggedAt, t0)
			}
			if c.OptedOut || res.ConsentChanged || res.Reply != nil || c.Status != conversations.StatusNew {
				t.Errorf("a flagged text acted like a keyword: %+v", res)
			}
			if consent, _ := db.GetConsent(ctx, a.account.ID, alice); consent.OptedOut {
				t.Error("the phone was opted out by a free-text message")
			}
			if got := eventTypes(t, db, c.ID); !slices.Equal(got, []string{"created", "revocation_flagged"}) {
				t.Errorf("events = %v", got)
			}
			// The flag stays when the contact writes again.
			later := a.receive(t, text{from: alice, body: "ok thanks", at: t0.Add(time.Minute)})
			if later.Conversation.RevocationFlaggedAt == nil || !later.Conversation.RevocationFlaggedAt.Equal(t0) {
				t.Errorf("the flag moved or vanished: %v", later.Conversation.RevocationFlaggedAt)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, db *store.DB) {
				tt.run(t, db, newTenant(t, db, sidA, bizA))
			})
		})
	}
}

// The inbound half of the conversation state machine.
func TestIngestStatusMachine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		from         conversations.Status
		assigned     bool
		body         string
		want         conversations.Status
		wantAssignee bool
		wantEvents   []string // after "created"
	}{
		{"new stays new", conversations.StatusNew, false, "hello", conversations.StatusNew, false, nil},
		{"open stays open, assignee kept", conversations.StatusOpen, true, "hello", conversations.StatusOpen, true, nil},
		{"pending reopens", conversations.StatusPending, true, "hello", conversations.StatusOpen, true, []string{"status_changed"}},
		{"snoozed reopens", conversations.StatusSnoozed, true, "hello", conversations.StatusOpen, true, []string{"status_changed"}},
		{"resolved reopens, assignee kept", conversations.StatusResolved, true, "hello", conversations.StatusOpen, true, []string{"status_changed"}},
		{"closed is fresh work, assignee cleared", conversations.StatusClosed, true, "hello", conversations.StatusNew, false, []string{"status_changed", "assignee_changed"}},
		{"closed without assignee", conversations.StatusClosed, false, "hello", conversations.StatusNew, false, []string{"status_changed"}},
		{"STOP on open keeps it open", conversations.StatusOpen, true, "STOP", conversations.StatusOpen, true, []string{"opted_out"}},
		{"STOP on resolved keeps it resolved", conversations.StatusResolved, true, "Stop.", conversations.StatusResolved, true, []string{"opted_out"}},
		{"HELP on closed keeps it closed", conversations.StatusClosed, true, "help", conversations.StatusClosed, true, []string{"help_requested"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, db *store.DB) {
				a := newTenant(t, db, sidA, bizA)
				first := a.receive(t, text{from: alice, body: "first"})
				conv := first.Conversation.ID
				var assignee *parley.ID
				if tt.assigned {
					assignee = &a.admin.ID
				}
				setStatus(t, db, conv, tt.from, assignee)

				res := a.receive(t, text{from: alice, body: tt.body, at: t0.Add(time.Hour)})
				c := res.Conversation
				if c.ID != conv {
					t.Fatalf("text went to conversation %d; want %d", c.ID, conv)
				}
				if c.Status != tt.want {
					t.Errorf("status %s → %s; want %s", tt.from, c.Status, tt.want)
				}
				if gotAssignee := c.AssigneeID != nil && *c.AssigneeID == a.admin.ID; gotAssignee != tt.wantAssignee {
					t.Errorf("assignee = %v; want assigned %v", c.AssigneeID, tt.wantAssignee)
				}
				if tt.want == conversations.StatusOpen && c.SnoozedUntil != nil {
					t.Errorf("a reopened conversation is still snoozed until %v", c.SnoozedUntil)
				}
				if res.Transition.Changed != (tt.from != tt.want) {
					t.Errorf("Transition = %+v", res.Transition)
				}
				if got := eventTypes(t, db, conv); !slices.Equal(got, append([]string{"created"}, tt.wantEvents...)) {
					t.Errorf("events = %v; want created + %v", got, tt.wantEvents)
				}
				if stored, _ := db.GetConversation(ctx, a.account.ID, conv); stored.Status != tt.want || !stored.LastInboundAt.Equal(t0.Add(time.Hour)) {
					t.Errorf("stored conversation = %+v", stored)
				}
			})
		})
	}
}

func TestIngestStatusChangedEventSaysWhat(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		first := a.receive(t, text{from: alice, body: "first"})
		setStatus(t, db, first.Conversation.ID, conversations.StatusClosed, &a.admin.ID)
		a.receive(t, text{from: alice, body: "back again", at: t0.Add(time.Hour)})
		var rows []struct {
			Type      string `db:"type"`
			ActorType string `db:"actor_type"`
			ActorID   *int64 `db:"actor_id"`
			Data      string `db:"data"`
			CreatedAt int64  `db:"created_at"`
		}
		err := db.SQL().SelectContext(ctx, &rows, db.SQL().Rebind(`SELECT type, actor_type, actor_id, data, created_at FROM conversation_events
WHERE conversation_id = ? AND type <> 'created' ORDER BY id`), first.Conversation.ID)
		if err != nil || len(rows) != 2 {
			t.Fatalf("events = %+v, %v", rows, err)
		}
		changed, cleared := rows[0], rows[1]
		if changed.Type != "status_changed" || changed.ActorType != "contact" || changed.ActorID == nil ||
			*changed.ActorID != int64(first.Conversation.ContactID) || !jsonHas(changed.Data, `"from":"closed"`, `"to":"new"`) ||
			changed.CreatedAt != t0.Add(time.Hour).UnixMilli() {
			t.Errorf("status event = %+v", changed)
		}
		if cleared.Type != "assignee_changed" || cleared.ActorType != "system" || !jsonHas(cleared.Data, fmt.Sprintf(`"from":"%d"`, a.admin.ID), `"to":null`) {
			t.Errorf("assignee event = %+v", cleared)
		}
	})
}

// jsonHas reports whether a JSON object's compact text has each fragment.
// PostgreSQL's jsonb puts a space after colons; strip spaces first.
func jsonHas(raw string, fragments ...string) bool {
	compact := strings.ReplaceAll(raw, " ", "")
	for _, f := range fragments {
		if !strings.Contains(compact, f) {
			return false
		}
	}
	return true
}

func TestIngestKeywordFirstText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body      string
		wantReply bool
	}{
		{"STOP", true},
		{" unsubscribe ", true},
		{"HELP", true},
		{"START", false}, // never opted out: nothing to confirm
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, db *store.DB) {
				a := newTenant(t, db, sidA, bizA)
				res := a.receive(t, text{from: alice, body: tt.body})
				if !res.Created || res.Conversation.Status != conversations.StatusResolved {
					t.Errorf("first text %q: created %v, status %s; want a resolved conversation", tt.body, res.Created, res.Conversation.Status)
				}
				if res.NeedsAssignment() {
					t.Error("a keyword created work for staff")
				}
				if (res.Reply != nil) != tt.wantReply {
					t.Errorf("reply = %+v; want one: %v", res.Reply, tt.wantReply)
				}
				if n := count(t, db, `SELECT COUNT(*) FROM messages WHERE direction = 'inbound'`); n != 1 {
					t.Errorf("the keyword is not in the thread: %d inbound messages", n)
				}
			})
		})
	}
}

// Consent keywords, their confirmations and the register.
func TestIngestConsent(t *testing.T) {
	t.Parallel()
	type step struct {
		body        string
		wantChanged bool
		wantOut     bool   // opted out after the step
		wantReply   string // purpose of the queued reply, "" for none
	}
	tests := []struct {
		name          string
		carrierOptOut bool
		steps         []step
		wantConsentEv []optout.Action
	}{
		{"STOP opts out and confirms", false, []step{
			{"STOP", true, true, campaigns.PurposeOptOutConfirmation},
		}, []optout.Action{optout.ActionOptOut}},
		{"second STOP is logged, not confirmed again", false, []step{
			{"STOP", true, true, campaigns.PurposeOptOutConfirmation},
			{"stop", false, true, ""},
		}, []optout.Action{optout.ActionOptOut, optout.ActionOptOut}},
		{"START after STOP opts back in and confirms", false, []step{
			{"STOP", true, true, campaigns.PurposeOptOutConfirmation},
			{"START", true, false, campaigns.PurposeAutoReply},
		}, []optout.Action{optout.ActionOptOut, optout.ActionOptIn}},
		{"START without an opt-out changes nothing", false, []step{
			{"hello", false, false, ""},
			{"START", false, false, ""},
			{"YES", false, false, ""},
		}, []optout.Action{optout.ActionOptIn, optout.ActionOptIn}},
		{"HELP is answered every time", false, []step{
			{"HELP", false, false, campaigns.PurposeAutoReply},
			{"info", false, false, campaigns.PurposeAutoReply},
			{"HELP", false, false, campaigns.PurposeAutoReply},
		}, nil},
		{"HELP is answered after STOP too", false, []step{
			{"STOP", true, true, campaigns.PurposeOptOutConfirmation},
			{"HELP", false, true, campaigns.PurposeAutoReply},
		}, []optout.Action{optout.ActionOptOut}},
		{"carrier handles opt-out: record, never reply", true, []step{
			{"STOP", true, true, ""},
			{"HELP", false, true, ""},
			{"START", true, false, ""},
		}, []optout.Action{optout.ActionOptOut, optout.ActionOptIn}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, db *store.DB) {
				a := newTenant(t, db, sidA, bizA)
				if tt.carrierOptOut {
					a.channel = a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, PhoneNumber: bizA2, CarrierHandlesOptOut: true})
				}
				settings, err := db.GetSettings(ctx, a.account.ID)
				if err != nil {
					t.Fatal(err)
				}
				replyText := map[string]string{"STOP": settings.OptOutReply, "stop": settings.OptOutReply, "START": settings.OptInReply,
					"HELP": settings.HelpText, "info": settings.HelpText}
				var wantOutbox []outboxRow
				var lastStop parley.ID
				for i, s := range tt.steps {
					res := a.receive(t, text{from: alice, body: s.body, at: t0.Add(time.Duration(i) * time.Minute)})
					if res.ConsentChanged != s.wantChanged {
						t.Errorf("step %d %q: ConsentChanged = %v; want %v", i, s.body, res.ConsentChanged, s.wantChanged)
					}
					if res.Conversation.OptedOut != s.wantOut {
						t.Errorf("step %d %q: conversation OptedOut = %v; want %v", i, s.body, res.Conversation.OptedOut, s.wantOut)
					}
					consent, err := db.GetConsent(ctx, a.account.ID, alice)
					if err != nil || consent.OptedOut != s.wantOut {
						t.Errorf("step %d %q: consent = %+v, %v; want opted out %v", i, s.body, consent, err, s.wantOut)
					}
					if s.body == "STOP" && s.wantChanged {
						lastStop = res.Message.ID
						if consent.Keyword != "STOP" || consent.MessageID == nil || *consent.MessageID != res.Message.ID ||
							consent.ChangedAt == nil || !consent.ChangedAt.Equal(res.Message.CreatedAt) {
							t.Errorf("consent after STOP = %+v; want keyword STOP, message %d", consent, res.Message.ID)
						}
					}
					if s.wantReply == "" {
						if res.Reply != nil {
							t.Errorf("step %d %q: queued %+v; want no reply", i, s.body, res.Reply)
						}
						continue
					}
					if res.Reply == nil {
						t.Fatalf("step %d %q: no reply queued; want %s", i, s.body, s.wantReply)
					}
					r := res.Reply
					if r.Direction != conversations.Outbound || r.Status != conversations.MessageQueued || r.Body != replyText[s.body] ||
						r.ConversationID != res.Conversation.ID || r.ChannelID != a.channel.ID {
						t.Errorf("step %d %q: reply = %+v", i, s.body, r)
					}
					wantOutbox = append(wantOutbox, outboxRow{Purpose: s.wantReply, To: alice, Body: replyText[s.body]})
				}
				if got := outbox(t, db); !slices.Equal(got, wantOutbox) {
					t.Errorf("outbox = %+v; want %+v", got, wantOutbox)
				}
				events, _, err := db.ListConsentEvents(ctx, a.account.ID, alice, parley.Page{Limit: 200})
				if err != nil {
					t.Fatal(err)
				}
				var actions []optout.Action
				for _, e := range events {
					actions = append(actions, e.Action)
					if e.Source != optout.SourceKeyword || e.MessageID == nil || e.Phone != alice || e.Keyword == "" {
						t.Errorf("consent event = %+v; want a keyword event naming its message", e)
					}
				}
				if !slices.Equal(actions, tt.wantConsentEv) {
					t.Errorf("consent log = %v; want %v", actions, tt.wantConsentEv)
				}
				if lastStop != 0 && (events[0].MessageID == nil || *events[0].MessageID != lastStop) {
					t.Errorf("first consent event names message %v; want the STOP %d", events[0].MessageID, lastStop)
				}
			})
		})
	}
}

// An opt-out is account-wide: every thread with that phone shows it, and
// texts from other phones are untouched.
func TestIngestOptOutIsAccountWide(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, PhoneNumber: bizA2})
		b := newTenant(t, db, sidB, bizB)
		other := a.receive(t, text{from: alice, to: bizA2, body: "hello second line"})
		a.receive(t, text{from: alice, body: "STOP"})
		b.receive(t, text{from: alice, body: "hello other company"})

		if c, _ := db.GetConversation(ctx, a.account.ID, other.Conversation.ID); !c.OptedOut {
			t.Error("the phone's thread on another channel of the account does not show the opt-out")
		}
		if out, err := db.OptedOut(ctx, a.account.ID, alice); err != nil || !out {
			t.Errorf("OptedOut(a, alice) = %v, %v; want true", out, err)
		}
		if out, _ := db.OptedOut(ctx, b.account.ID, alice); out {
			t.Error("an opt-out leaked into another account")
		}
		if out, _ := db.OptedOut(ctx, a.account.ID, bob); out {
			t.Error("a phone that never texted is opted out")
		}
	})
}

// Twenty first texts from one phone at once: the loser of each race retries
// and joins what the winner created.
func TestIngestConcurrentFirstTexts(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		const n = 20
		results := make([]conversations.IngestResult, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i], errs[i] = a.tryReceive(text{from: alice, body: fmt.Sprintf("text %d", i), sid: fmt.Sprintf("SMrace%02d", i),
					at: t0.Add(time.Duration(i) * time.Millisecond)})
			}()
		}
		close(start)
		wg.Wait()
		created := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("text %d: %v", i, errs[i])
			}
			if results[i].Created {
				created++
			}
			if results[i].Conversation.ID != results[0].Conversation.ID {
				t.Errorf("text %d went to conversation %d; text 0 to %d", i, results[i].Conversation.ID, results[0].Conversation.ID)
			}
		}
		if created != 1 {
			t.Errorf("%d texts say they created the conversation; want 1", created)
		}
		for table, want := range map[string]int{"contacts": 1, "contact_phones": 1, "conversations": 1, "messages": n} {
			if got := count(t, db, `SELECT COUNT(*) FROM `+table); got != want {
				t.Errorf("%d %s; want %d", got, table, want)
			}
		}
		if got := eventTypes(t, db, results[0].Conversation.ID); !slices.Equal(got, []string{"created"}) {
			t.Errorf("events = %v; want one created", got)
		}
	})
}

// The same carrier id delivered twice at once (a carrier retry racing the
// original) is stored once.
func TestIngestConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		a.receive(t, text{from: alice, body: "existing thread"})
		const n = 8
		errs := make([]error, n)
		dups := make([]bool, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := a.tryReceive(text{from: alice, body: "STOP", sid: "SMsame", at: t0.Add(time.Second)})
				errs[i], dups[i] = err, res.Duplicate
			}()
		}
		wg.Wait()
		fresh := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("delivery %d: %v", i, errs[i])
			}
			if !dups[i] {
				fresh++
			}
		}
		if fresh != 1 {
			t.Errorf("%d deliveries were stored as new; want 1", fresh)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM messages WHERE direction = 'inbound'`); got != 2 {
			t.Errorf("%d inbound messages; want 2", got)
		}
		if got := len(outbox(t, db)); got != 1 {
			t.Errorf("%d confirmations queued; want 1", got)
		}
	})
}

// STOPs racing on two threads of one phone: the register changes once and
// the phone gets one confirmation, however the transactions interleave.
func TestIngestConcurrentStops(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, PhoneNumber: bizA2})
		a.receive(t, text{from: alice, body: "hi main line"})
		a.receive(t, text{from: alice, to: bizA2, body: "hi second line"})
		const n = 10
		errs := make([]error, n)
		changed := make([]bool, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				to := bizA
				if i%2 == 1 {
					to = bizA2
				}
				res, err := a.tryReceive(text{from: alice, to: to, body: "STOP", at: t0.Add(time.Second)})
				errs[i], changed[i] = err, res.ConsentChanged
			}()
		}
		wg.Wait()
		winners := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("STOP %d: %v", i, errs[i])
			}
			if changed[i] {
				winners++
			}
		}
		if winners != 1 {
			t.Errorf("%d STOPs changed the consent; want 1", winners)
		}
		if got := outbox(t, db); len(got) != 1 || got[0].Purpose != campaigns.PurposeOptOutConfirmation {
			t.Errorf("outbox = %+v; want one opt-out confirmation", got)
		}
		if events, _, _ := db.ListConsentEvents(ctx, a.account.ID, alice, parley.Page{Limit: 200}); len(events) != n {
			t.Errorf("%d consent events; want every STOP logged (%d)", len(events), n)
		}
	})
}
