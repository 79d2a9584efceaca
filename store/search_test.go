package store_test

import (
	"slices"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

func TestConversationSearch(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		b := newTenant(t, db, newSID("AC"), bizB)
		gutter := a.receive(t, text{from: "+14155550111", body: "The gutter on the north side is leaking again"}).Conversation
		invoice := a.receive(t, text{from: "+14155550122", body: "Where is my invoice #4411?"}).Conversation
		accents := a.receive(t, text{from: "+14155550133", body: "Merci pour le devis, très clair"}).Conversation
		b.receive(t, text{from: "+14155550144", body: "another account's gutter"})
		named, err := db.CreateContact(ctx, conversations.Contact{AccountID: a.account.ID, Name: "Grace Hopper",
			Phones: []string{"+14155550155"}, Attributes: map[string]any{}, CreatedAt: t0, UpdatedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		hopper := a.receive(t, text{from: named.Phones[0], body: "hello"}).Conversation

		tests := []struct {
			name string
			q    string
			want []parley.ID
		}{
			{"a word of a message", "gutter", []parley.ID{gutter.ID}},
			{"words in any order, any case", "LEAKING gutter", []parley.ID{gutter.ID}},
			{"the last word as a prefix while typing", "the gut", []parley.ID{gutter.ID}},
			{"every word must match", "gutter invoice", nil},
			{"digits in a message", "4411", []parley.ID{invoice.ID}},
			{"punctuation is only a separator", "invoice?!", []parley.ID{invoice.ID}},
			{"query syntax is not interpreted", `"invoice" OR gutter*`, nil},
			{"a contact's name", "hopper", []parley.ID{hopper.ID}},
			{"a full phone in another spelling", "(415) 555-0122", []parley.ID{invoice.ID}},
			{"the last digits of a phone", "0133", []parley.ID{accents.ID}},
			{"the start of a national number", "415555013", []parley.ID{accents.ID}},
			{"nothing searchable", "!!!", nil},
			{"another account's text is not found", "another", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, _, err := db.FindConversations(ctx, conversations.ConversationFilter{AccountID: a.account.ID, Query: tt.q})
				if err != nil {
					t.Fatal(err)
				}
				var ids []parley.ID
				for _, c := range got {
					ids = append(ids, c.ID)
				}
				slices.Sort(ids)
				slices.Sort(tt.want)
				if !slices.Equal(ids, tt.want) {
					t.Errorf("q=%q found %v, want %v", tt.q, ids, tt.want)
				}
			})
		}
	})
}

// TestSearchFindsEveryMatchBeyondTheRecencyWindow pages through all results
// of searches on an inbox larger than the first plan's window and compares
// them with a brute-force scan: rare words (matches far apart, past the
// window) and common ones (the window fills every page).
func TestSearchFindsEveryMatchBeyondTheRecencyWindow(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		res, err := db.Seed(ctx, store.SeedSpec{AccountID: a.account.ID, Conversations: 3000, Messages: 30000, Agents: 3, Now: t0, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		for _, word := range []string{"gutter", "chimney", "quote", "tomorrow"} {
			t.Run(word, func(t *testing.T) {
				want := map[parley.ID]bool{}
				rows, err := db.SQL().QueryContext(ctx, db.SQL().Rebind(`SELECT DISTINCT conversation_id FROM messages
WHERE channel_id = ? AND (body LIKE ? OR body LIKE ? OR body LIKE ? OR body = ?)`),
					res.ChannelID, word+" %", "% "+word+" %", "% "+word, word)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					var id parley.ID
					if err := rows.Scan(&id); err != nil {
						t.Fatal(err)
					}
					want[id] = true
				}
				rows.Close()
				got := map[parley.ID]bool{}
				f := conversations.ConversationFilter{AccountID: a.account.ID, Query: word, Page: conversations.Page{Limit: 200}}
				for {
					page, next, err := db.FindConversations(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					for _, c := range page {
						if got[c.ID] {
							t.Fatalf("conversation %v on two pages", c.ID)
						}
						got[c.ID] = true
					}
					if next == "" {
						break
					}
					f.Page.Cursor = next
				}
				if len(got) != len(want) {
					t.Fatalf("q=%s found %d conversations, a scan finds %d", word, len(got), len(want))
				}
				for id := range want {
					if !got[id] {
						t.Errorf("q=%s missed conversation %v", word, id)
					}
				}
			})
		}
	})
}
