package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

func TestFindConversationsFilters(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		sales, err := db.CreateInbox(ctx, conversations.Inbox{AccountID: a.account.ID, Name: "Sales", Kind: conversations.InboxSales, CreatedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, PhoneNumber: bizA2, InboxID: sales.ID})
		b := newTenant(t, db, sidB, bizB)

		// Conversations, newest activity last.
		at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
		newContact(t, db, a.account.ID, "Bob Builder", bob)
		newConv := a.receive(t, text{from: alice, body: "new one", at: at(1)}).Conversation
		openConv := a.receive(t, text{from: bob, body: "open one", at: at(2)}).Conversation
		resolvedConv := a.receive(t, text{from: "+14155550333", body: "resolved one", at: at(3)}).Conversation
		salesConv := a.receive(t, text{from: alice, to: bizA2, body: "sales one", at: at(4)}).Conversation
		setStatus(t, db, openConv.ID, conversations.StatusOpen, &a.admin.ID)
		setStatus(t, db, resolvedConv.ID, conversations.StatusResolved, &a.admin.ID)
		exec(t, db, `UPDATE conversations SET priority = ? WHERE id = ?`, "high", openConv.ID)
		exec(t, db, `UPDATE conversations SET priority = ? WHERE id = ?`, "urgent", salesConv.ID)
		b.receive(t, text{from: alice, body: "other account", at: at(5)})

		tests := []struct {
			name   string
			filter conversations.ConversationFilter
			want   []parley.ID
		}{
			{"all, newest activity first", conversations.ConversationFilter{}, []parley.ID{salesConv.ID, resolvedConv.ID, openConv.ID, newConv.ID}},
			{"one status", conversations.ConversationFilter{Statuses: []conversations.Status{conversations.StatusNew}}, []parley.ID{salesConv.ID, newConv.ID}},
			{"two statuses", conversations.ConversationFilter{Statuses: []conversations.Status{conversations.StatusOpen, conversations.StatusResolved}}, []parley.ID{resolvedConv.ID, openConv.ID}},
			{"a status nobody has", conversations.ConversationFilter{Statuses: []conversations.Status{conversations.StatusSnoozed}}, nil},
			{"inbox", conversations.ConversationFilter{InboxID: sales.ID}, []parley.ID{salesConv.ID}},
			{"other inbox", conversations.ConversationFilter{InboxID: a.inbox.ID}, []parley.ID{resolvedConv.ID, openConv.ID, newConv.ID}},
			{"contact phone across channels", conversations.ConversationFilter{ContactPhone: alice}, []parley.ID{salesConv.ID, newConv.ID}},
			{"contact", conversations.ConversationFilter{ContactID: openConv.ContactID}, []parley.ID{openConv.ID}},
			{"unassigned", conversations.ConversationFilter{Unassigned: true}, []parley.ID{salesConv.ID, newConv.ID}},
			{"assignee", conversations.ConversationFilter{AssigneeID: a.admin.ID}, []parley.ID{resolvedConv.ID, openConv.ID}},
			{"assignee and status", conversations.ConversationFilter{AssigneeID: a.admin.ID, Statuses: []conversations.Status{conversations.StatusOpen}}, []parley.ID{openConv.ID}},
			{"unassigned in an inbox", conversations.ConversationFilter{Unassigned: true, InboxID: a.inbox.ID}, []parley.ID{newConv.ID}},
			{"another account's inbox", conversations.ConversationFilter{InboxID: b.inbox.ID}, nil},
			{"q by contact name, any case", conversations.ConversationFilter{Query: "bUILDER"}, []parley.ID{openConv.ID}},
			{"q by part of the contact phone", conversations.ConversationFilter{Query: "550333"}, []parley.ID{resolvedConv.ID}},
			{"q with % is literal", conversations.ConversationFilter{Query: "%"}, nil},
			{"q and status", conversations.ConversationFilter{Query: alice, Statuses: []conversations.Status{conversations.StatusNew}}, []parley.ID{salesConv.ID, newConv.ID}},
			{"priority", conversations.ConversationFilter{Priority: conversations.PriorityHigh}, []parley.ID{openConv.ID}},
			{"priority nobody has", conversations.ConversationFilter{Priority: conversations.PriorityLow}, nil},
			{"priority none", conversations.ConversationFilter{Priority: conversations.PriorityNone}, []parley.ID{resolvedConv.ID, newConv.ID}},
			{"priority and assignee", conversations.ConversationFilter{AssigneeID: a.admin.ID, Priority: conversations.PriorityHigh}, []parley.ID{openConv.ID}},
			{"q and priority", conversations.ConversationFilter{Query: alice, Priority: conversations.PriorityUrgent}, []parley.ID{salesConv.ID}},
			{"q by a word and priority", conversations.ConversationFilter{Query: "one", Priority: conversations.PriorityHigh}, []parley.ID{openConv.ID}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.filter.AccountID = a.account.ID
				convs, next, err := db.FindConversations(ctx, tt.filter)
				if err != nil {
					t.Fatalf("FindConversations: %v", err)
				}
				var ids []parley.ID
				for _, c := range convs {
					ids = append(ids, c.ID)
				}
				if !slices.Equal(ids, tt.want) || next != "" {
					t.Errorf("FindConversations = %v, next %q; want %v", ids, next, tt.want)
				}
			})
		}
	})
}

func TestFindConversationsPagination(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		// Seven threads; three share a last-message time, so the id breaks the tie.
		times := []time.Duration{1, 2, 3, 3, 3, 4, 5}
		var want []parley.ID
		for i, d := range times {
			c := a.receive(t, text{from: fmt.Sprintf("+1415555400%d", i), body: "hi", at: t0.Add(d * time.Minute)}).Conversation
			want = append([]parley.ID{c.ID}, want...)
		}
		// Ties on last_message_at: newest id first, as the list shows them.
		var got []parley.ID
		cursor, pages := "", 0
		for {
			convs, next, err := db.FindConversations(ctx, conversations.ConversationFilter{AccountID: a.account.ID,
				Page: conversations.Page{Limit: 2, Cursor: cursor}})
			if err != nil {
				t.Fatalf("page %d: %v", pages+1, err)
			}
			pages++
			for _, c := range convs {
				got = append(got, c.ID)
			}
			// New traffic between pages: a new thread, and a text on a
			// thread already seen. Neither may shift the remaining pages.
			a.receive(t, text{from: fmt.Sprintf("+1415555410%d", pages), body: "new thread", at: t0.Add(time.Hour + time.Duration(pages)*time.Minute)})
			if len(convs) > 0 {
				a.receive(t, text{from: convs[0].ContactPhone, body: "again", at: t0.Add(time.Hour + time.Duration(pages)*time.Minute)})
			}
			if next == "" {
				break
			}
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			cursor = next
		}
		if !slices.Equal(got, want) || pages != 4 {
			t.Errorf("paged through %v in %d pages; want %v in 4", got, pages, want)
		}

		for _, bad := range []string{"garbage!", encodeCursorLike("12"), encodeCursorLike("1.x"), encodeCursorLike("1.2.3")} {
			_, _, err := db.FindConversations(ctx, conversations.ConversationFilter{AccountID: a.account.ID, Page: conversations.Page{Cursor: bad}})
			wantKind(t, err, parley.EINVALID)
		}
	})
}

func TestGetConversation(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)
		jane := newContact(t, db, a.account.ID, "Jane Doe", alice)
		conv := a.receive(t, text{from: alice, body: "hello"}).Conversation

		got, err := db.GetConversation(ctx, a.account.ID, conv.ID)
		if err != nil || got.ContactID != jane.ID || got.ContactName != "Jane Doe" {
			t.Errorf("GetConversation = %+v, %v; want Jane's thread", got, err)
		}
		_, err = db.GetConversation(ctx, b.account.ID, conv.ID)
		wantKind(t, err, parley.ENOTFOUND)
		_, err = db.GetConversation(ctx, a.account.ID, conv.ID+1000)
		wantKind(t, err, parley.ENOTFOUND)
		_, _, err = db.ListMessages(ctx, b.account.ID, conv.ID, conversations.Page{})
		wantKind(t, err, parley.ENOTFOUND)
		if convs, _, err := db.FindConversations(ctx, conversations.ConversationFilter{AccountID: b.account.ID}); err != nil || len(convs) != 0 {
			t.Errorf("another account lists %+v, %v", convs, err)
		}
	})
}

func TestListMessages(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		var want []string
		var conv parley.ID
		for i, body := range []string{"one", "two", "HELP", "four"} {
			res := a.receive(t, text{from: alice, body: body, at: t0.Add(time.Duration(i) * time.Second)})
			conv = res.Conversation.ID
			want = append(want, body)
			if res.Reply != nil {
				want = append(want, res.Reply.Body) // the help text, in the thread
			}
		}
		a.receive(t, text{from: bob, body: "someone else's thread"})

		var got []string
		var dirs []conversations.Direction
		cursor, pages := "", 0
		for {
			msgs, next, err := db.ListMessages(ctx, a.account.ID, conv, conversations.Page{Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatalf("page %d: %v", pages+1, err)
			}
			pages++
			for _, m := range msgs {
				got = append(got, m.Body)
				dirs = append(dirs, m.Direction)
			}
			if next == "" {
				break
			}
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			cursor = next
		}
		if !slices.Equal(got, want) || pages != 3 {
			t.Errorf("thread = %q in %d pages; want %q in 3, oldest first", got, pages, want)
		}
		if dirs[3] != conversations.Outbound || dirs[0] != conversations.Inbound {
			t.Errorf("directions = %v", dirs)
		}
		_, _, err := db.ListMessages(ctx, a.account.ID, conv, conversations.Page{Cursor: "bad cursor"})
		wantKind(t, err, parley.EINVALID)
	})
}
