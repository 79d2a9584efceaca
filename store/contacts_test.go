package store_test

import (
	"encoding/base64"
	"fmt"
	"slices"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

func newContact(t testing.TB, db *store.DB, accountID parley.ID, name string, phones ...string) conversations.Contact {
	t.Helper()
	c, err := db.CreateContact(ctx, conversations.Contact{AccountID: accountID, Name: name, Phones: phones, CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatalf("CreateContact(%s, %v): %v", name, phones, err)
	}
	return c
}

func TestCreateContact(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)

		c, err := db.CreateContact(ctx, conversations.Contact{AccountID: a.account.ID, Name: "Jane Doe", Type: "applicant",
			Attributes: map[string]any{"program": "nursing", "year": float64(2026)},
			Phones:     []string{"+14155551001", "+14155551002"}, CreatedAt: t0, UpdatedAt: t0})
		if err != nil {
			t.Fatalf("CreateContact: %v", err)
		}
		got, err := db.GetContact(ctx, a.account.ID, c.ID)
		if err != nil {
			t.Fatalf("GetContact: %v", err)
		}
		if got.Name != "Jane Doe" || got.Type != "applicant" || got.Attributes["program"] != "nursing" || got.Attributes["year"] != float64(2026) ||
			!slices.Equal(got.Phones, []string{"+14155551001", "+14155551002"}) || !got.CreatedAt.Equal(t0) {
			t.Errorf("GetContact = %+v", got)
		}
		if _, err := db.GetContact(ctx, b.account.ID, c.ID); !parley.IsKind(err, parley.ENOTFOUND) {
			t.Errorf("GetContact from another account = %v; want ENOTFOUND", err)
		}

		t.Run("phone taken by another contact", func(t *testing.T) {
			contacts := count(t, db, `SELECT COUNT(*) FROM contacts`)
			_, err := db.CreateContact(ctx, conversations.Contact{AccountID: a.account.ID, Name: "John",
				Phones: []string{"+14155551003", "+14155551002"}, CreatedAt: t0, UpdatedAt: t0})
			wantKind(t, err, parley.ECONFLICT, "phone_taken")
			if n := count(t, db, `SELECT COUNT(*) FROM contacts`); n != contacts {
				t.Errorf("the refused contact was stored: %d contacts, want %d", n, contacts)
			}
			// Its free phone was not kept either.
			if found, _, _ := db.FindContacts(ctx, conversations.ContactFilter{AccountID: a.account.ID, Phone: "+14155551003"}); len(found) != 0 {
				t.Errorf("the refused contact's free phone belongs to %+v", found)
			}
			if got, _ := db.GetContact(ctx, a.account.ID, c.ID); !slices.Equal(got.Phones, []string{"+14155551001", "+14155551002"}) {
				t.Errorf("the owner's phones changed: %v", got.Phones)
			}
		})

		t.Run("same phone in another account", func(t *testing.T) {
			other := newContact(t, db, b.account.ID, "Jane at B", "+14155551001")
			found, _, err := db.FindContacts(ctx, conversations.ContactFilter{AccountID: b.account.ID, Phone: "+14155551001"})
			if err != nil || len(found) != 1 || found[0].ID != other.ID {
				t.Errorf("FindContacts in b = %+v, %v; want only b's contact", found, err)
			}
			found, _, err = db.FindContacts(ctx, conversations.ContactFilter{AccountID: a.account.ID, Phone: "+14155551001"})
			if err != nil || len(found) != 1 || found[0].ID != c.ID {
				t.Errorf("FindContacts in a = %+v, %v; want only a's contact", found, err)
			}
		})

		t.Run("no phones, no attributes", func(t *testing.T) {
			bare := newContact(t, db, a.account.ID, "Walk-in")
			got, err := db.GetContact(ctx, a.account.ID, bare.ID)
			if err != nil || got.Phones == nil || len(got.Phones) != 0 || got.Attributes == nil {
				t.Errorf("GetContact = %+v, %v; want empty, non-nil phones and attributes", got, err)
			}
		})
	})
}

func TestFindContacts(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)
		jane := newContact(t, db, a.account.ID, "Jane Doe", "+14155552001", "+442079460958")
		john := newContact(t, db, a.account.ID, "John Smith", "+14155552002")
		pct := newContact(t, db, a.account.ID, "100% Real_Name", "+14155552003")
		newContact(t, db, b.account.ID, "Jane at B", "+14155552001")

		tests := []struct {
			name   string
			filter conversations.ContactFilter
			want   []parley.ID // newest first
		}{
			{"everyone, newest first", conversations.ContactFilter{}, []parley.ID{pct.ID, john.ID, jane.ID}},
			{"by phone", conversations.ContactFilter{Phone: "+14155552001"}, []parley.ID{jane.ID}},
			{"by second phone", conversations.ContactFilter{Phone: "+442079460958"}, []parley.ID{jane.ID}},
			{"by unknown phone", conversations.ContactFilter{Phone: "+14155559999"}, nil},
			{"q by name, any case", conversations.ContactFilter{Query: "jAnE"}, []parley.ID{jane.ID}},
			{"q by part of a name", conversations.ContactFilter{Query: "smi"}, []parley.ID{john.ID}},
			{"q by part of a phone", conversations.ContactFilter{Query: "2079"}, []parley.ID{jane.ID}},
			{"q by a phone prefix", conversations.ContactFilter{Query: "+1415555200"}, []parley.ID{pct.ID, john.ID, jane.ID}},
			{"q with % is literal", conversations.ContactFilter{Query: "%"}, []parley.ID{pct.ID}},
			{"q with _ is literal", conversations.ContactFilter{Query: "l_n"}, []parley.ID{pct.ID}},
			{"q blank is no filter", conversations.ContactFilter{Query: "  "}, []parley.ID{pct.ID, john.ID, jane.ID}},
			{"q matching nobody", conversations.ContactFilter{Query: "zelda"}, nil},
			{"phone and q", conversations.ContactFilter{Phone: "+14155552001", Query: "john"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.filter.AccountID = a.account.ID
				found, next, err := db.FindContacts(ctx, tt.filter)
				if err != nil {
					t.Fatalf("FindContacts: %v", err)
				}
				var ids []parley.ID
				for _, c := range found {
					ids = append(ids, c.ID)
					if c.AccountID != a.account.ID {
						t.Errorf("contact %d of account %d leaked", c.ID, c.AccountID)
					}
				}
				if !slices.Equal(ids, tt.want) || next != "" {
					t.Errorf("FindContacts = %v, next %q; want %v", ids, next, tt.want)
				}
			})
		}
		// Phones come with each contact, in order.
		found, _, _ := db.FindContacts(ctx, conversations.ContactFilter{AccountID: a.account.ID, Phone: "+14155552001"})
		if len(found) != 1 || !slices.Equal(found[0].Phones, []string{"+14155552001", "+442079460958"}) {
			t.Errorf("FindContacts phones = %+v", found)
		}
	})
}

// TestFindContactsFoldsEveryLetter: q finds a name whatever the case of
// its non-ASCII letters, on both databases (SQLite's LOWER and LIKE fold
// ASCII only).
func TestFindContactsFoldsEveryLetter(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, newSID("AC"), bizA)
		upper := newContact(t, db, a.account.ID, "ÉLODIE Martin", "+14155553001")
		lower := newContact(t, db, a.account.ID, "élise Ölberg", "+14155553002")
		for q, want := range map[string][]parley.ID{
			"él":      {lower.ID, upper.ID},
			"ÉL":      {lower.ID, upper.ID},
			"élodie":  {upper.ID},
			"ÉLISE":   {lower.ID},
			"öLBERG":  {lower.ID},
			"martin":  {upper.ID},
			"élodies": nil,
		} {
			found, _, err := db.FindContacts(ctx, conversations.ContactFilter{AccountID: a.account.ID, Query: q})
			if err != nil {
				t.Fatalf("FindContacts q=%q: %v", q, err)
			}
			var ids []parley.ID
			for _, c := range found {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, want) {
				t.Errorf("FindContacts q=%q = %v; want %v", q, ids, want)
			}
		}
	})
}

func TestFindContactsPagination(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		var want []parley.ID
		for i := range 5 {
			c := newContact(t, db, a.account.ID, fmt.Sprintf("Contact %d", i), fmt.Sprintf("+1415555300%d", i))
			want = append([]parley.ID{c.ID}, want...) // newest first
		}
		var got []parley.ID
		cursor, pages := "", 0
		for {
			found, next, err := db.FindContacts(ctx, conversations.ContactFilter{AccountID: a.account.ID,
				Page: conversations.Page{Limit: 2, Cursor: cursor}})
			if err != nil {
				t.Fatalf("page %d: %v", pages, err)
			}
			pages++
			if len(found) > 2 {
				t.Fatalf("page %d has %d contacts; limit 2", pages, len(found))
			}
			for _, c := range found {
				got = append(got, c.ID)
			}
			// Contacts created while someone pages must not shift the pages.
			newContact(t, db, a.account.ID, fmt.Sprintf("Newcomer %d", pages), fmt.Sprintf("+1415555310%d", pages))
			if next == "" {
				break
			}
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			cursor = next
		}
		if !slices.Equal(got, want) || pages != 3 {
			t.Errorf("paged through %v in %d pages; want %v in 3", got, pages, want)
		}

		for _, bad := range []string{"nope!", "MTIz.NDU2", encodeCursorLike("1.2")} {
			_, _, err := db.FindContacts(ctx, conversations.ContactFilter{AccountID: a.account.ID, Page: conversations.Page{Cursor: bad}})
			wantKind(t, err, parley.EINVALID)
		}
	})
}

// encodeCursorLike builds a cursor the way the store does (base64 of
// dot-separated integers), to feed one list another list's cursor shape.
func encodeCursorLike(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}
