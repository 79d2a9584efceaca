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
