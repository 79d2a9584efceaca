package store_test

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
	"github.com/parleyhq/parley/store/devdb"
	"github.com/parleyhq/parley/store/storetest"
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
		a, res := seededTenant(t, db, onePlanShare(db, devdb.SeedSpec{Conversations: 3000, Messages: 30000, Agents: 3, Seed: 7}))
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

// TestConversationListsMatchAScan pages through every combination of view,
// status list, inbox and q on an inbox larger than the search window and
// compares each with a scan of all the account's conversations in Go:
// whichever plan serves a list (window, hits, the status span on an index),
// it must hold exactly the matching conversations, newest activity first.
func TestConversationListsMatchAScan(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a, res := seededTenant(t, db, onePlanShare(db, devdb.SeedSpec{Conversations: 3000, Messages: 18000, Agents: 3, Seed: 11}))
		// A rare word with and without a common one: a search for both
		// that looks the rare word up alone must still check the other.
		a.receive(t, text{from: "+14155550111", body: "the gutter leaks"})
		a.receive(t, text{from: "+14155550122", body: "hello, the gutter again"})
		if _, err := db.SQL().ExecContext(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
		// Every list on PostgreSQL with the statistics and without (which
		// most word searches of this small inbox skip to their capped
		// hits), then with the recent matches first, from an index over
		// the 90% most recently active (more than the window: with short
		// pages it serves some lists alone).
		checkLists := func(t *testing.T, limit int) {
			t.Helper()
			type conv struct {
				id, lastAt, assignee, inbox int64
				status, phone, name         string
				// docs are the words of the contact's name and of each text.
				docs [][]string
			}
			var all []*conv
			byID := map[int64]*conv{}
			rows, err := db.SQL().QueryContext(ctx, db.SQL().Rebind(`SELECT cv.id, cv.last_message_at, COALESCE(cv.assignee_id, 0), cv.inbox_id,
cv.status, cv.contact_phone, ct.name FROM conversations cv JOIN contacts ct ON ct.id = cv.contact_id WHERE cv.account_id = ?`), a.account.ID)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				c := &conv{}
				if err := rows.Scan(&c.id, &c.lastAt, &c.assignee, &c.inbox, &c.status, &c.phone, &c.name); err != nil {
					t.Fatal(err)
				}
				c.docs = [][]string{words(c.name)}
				all, byID[c.id] = append(all, c), c
			}
			rows.Close()
			rows, err = db.SQL().QueryContext(ctx, db.SQL().Rebind(`SELECT conversation_id, body FROM messages WHERE account_id = ?`), a.account.ID)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id int64
				var body string
				if err := rows.Scan(&id, &body); err != nil {
					t.Fatal(err)
				}
				byID[id].docs = append(byID[id].docs, words(body))
			}
			rows.Close()
			slices.SortFunc(all, func(x, y *conv) int {
				if x.lastAt != y.lastAt {
					return cmp.Compare(y.lastAt, x.lastAt)
				}
				return cmp.Compare(y.id, x.id)
			})
			// On PostgreSQL a conversation is one search document; on SQLite
			// every word must be in one text or in the contact's name.
			docs := func(c *conv) [][]string {
				if db.Dialect() == "sqlite" {
					return c.docs
				}
				return [][]string{slices.Concat(c.docs...)}
			}
			matches := func(c *conv, q string) bool {
				terms := words(q)
				if len(terms) == 0 {
					return true
				}
				if digits := strings.Trim(q, "0123456789"); digits == "" && len(q) >= 3 {
					num := strings.TrimPrefix(c.phone, "+")
					if strings.HasPrefix(num, q) || strings.HasPrefix(num, "1"+q) || strings.HasSuffix(num, q) {
						return true
					}
				}
				return slices.ContainsFunc(docs(c), func(doc []string) bool {
					for i, term := range terms {
						if !slices.ContainsFunc(doc, func(w string) bool {
							return w == term || (i == len(terms)-1 && strings.HasPrefix(w, term))
						}) {
							return false
						}
					}
					return true
				})
			}

			// A conversation matches a query or not whatever the view and
			// statuses: the scan works each pair out once.
			type pair struct {
				c *conv
				q string
			}
			matched := map[pair]bool{}
			matchesOnce := func(c *conv, q string) bool {
				m, ok := matched[pair{c, q}]
				if !ok {
					m = matches(c, q)
					matched[pair{c, q}] = m
				}
				return m
			}

			agent := res.AgentIDs[0]
			views := []struct {
				name string
				f    conversations.ConversationFilter
				keep func(*conv) bool
			}{
				{"all", conversations.ConversationFilter{}, func(*conv) bool { return true }},
				{"mine", conversations.ConversationFilter{AssigneeID: agent}, func(c *conv) bool { return c.assignee == int64(agent) }},
				{"unassigned", conversations.ConversationFilter{Unassigned: true}, func(c *conv) bool { return c.assignee == 0 }},
				{"inbox", conversations.ConversationFilter{InboxID: res.InboxID}, func(c *conv) bool { return c.inbox == int64(res.InboxID) }},
				{"empty inbox", conversations.ConversationFilter{InboxID: a.inbox.ID}, func(c *conv) bool { return c.inbox == int64(a.inbox.ID) }},
				{"unassigned in inbox", conversations.ConversationFilter{Unassigned: true, InboxID: res.InboxID},
					func(c *conv) bool { return c.assignee == 0 && c.inbox == int64(res.InboxID) }},
			}
			statusLists := [][]conversations.Status{nil, {"open"}, {"new", "open"}, {"pending", "closed"}, {"snoozed", "resolved", "new"}}
			queries := []string{"", "gutter", "quote", "hopper", "ada hopper", "gutter quote", "gutter hel", "quote gut", "gut", "zqxj", "0042", "628200001"}
			for _, v := range views {
				for _, statuses := range statusLists {
					for _, q := range queries {
						var want []parley.ID
						for _, c := range all {
							if v.keep(c) && (statuses == nil || slices.Contains(statuses, conversations.Status(c.status))) && matchesOnce(c, q) {
								want = append(want, parley.ID(c.id))
							}
						}
						if q == "" && len(want) > 400 {
							continue // long unfiltered lists: TestFindConversationsPagination
						}
						if len(want) > 90*limit {
							continue // too many pages
						}
						f := v.f
						f.AccountID, f.Statuses, f.Query, f.Page = a.account.ID, statuses, q, conversations.Page{Limit: limit}
						var got []parley.ID
						for pages := 0; ; pages++ {
							page, next, err := db.FindConversations(ctx, f)
							if err != nil {
								t.Fatal(err)
							}
							for _, c := range page {
								got = append(got, c.ID)
							}
							if next == "" || pages > 100 {
								break
							}
							f.Page.Cursor = next
						}
						if !slices.Equal(got, want) {
							t.Errorf("view=%s status=%v q=%q: got %d conversations, a scan finds %d (first difference at %d)",
								v.name, statuses, q, len(got), len(want), firstDifference(got, want))
						}
					}
				}
			}
		}
		checkLists(t, 37)
		if db.Dialect() != "postgres" {
			return
		}
		db.PlanSearchesWithoutStatistics()
		checkLists(t, 37)
		if err := db.RebuildRecentSearch(ctx, 0.9, t0); err != nil {
			t.Fatal(err)
		}
		// Pages of 5: q=ada hopper has 4 matches in the window of 2,000
		// and 6 in the recent index.
		checkLists(t, 5)
		if db.RecentSearchServed() == 0 {
			t.Error("the recent index served no list alone")
		}
		db.ForgetSearchStatistics()
		checkLists(t, 5)
		db.PlanSearchesWithoutStatistics()
		// An index over 70%, a little more than the window: the recent
		// matches of q=ada hopper no longer fill a page of 5, and the older
		// ones must follow.
		if err := db.RebuildRecentSearch(ctx, 0.7, t0); err != nil {
			t.Fatal(err)
		}
		checkLists(t, 5)
	})
}

// words splits text as searches do: lower-case runs of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func firstDifference(a, b []parley.ID) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestPrefixSearchFindsEveryWritersWords: on PostgreSQL a search past the
// recency window spells its last term out as the words of search_words
// (migration 00016), so every writer of a search document must add its new
// words there, or that search misses the conversation. On an inbox larger
// than the window, each writer brings a word no other document has; a
// search for a prefix of it, with and without a common word before it,
// must find that conversation and no other.
func TestPrefixSearchFindsEveryWritersWords(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a, res := seededTenant(t, db, devdb.SeedSpec{Conversations: 2500, Messages: 5000, Agents: 2, Seed: 3})
		var seeded []struct {
			ID      parley.ID `db:"id"`
			Phone   string    `db:"contact_phone"`
			Contact parley.ID `db:"contact_id"`
		}
		if err := db.SQL().SelectContext(ctx, &seeded, db.SQL().Rebind(`SELECT id, contact_phone, contact_id FROM conversations
WHERE channel_id = ? ORDER BY id LIMIT 4`), res.ChannelID); err != nil {
			t.Fatal(err)
		}
		// Replies come to the seeded threads' own number.
		var seedCh struct {
			Number string `db:"phone_number"`
			SID    string `db:"carrier_account_id"`
		}
		if err := db.SQL().GetContext(ctx, &seedCh, db.SQL().Rebind(`SELECT phone_number, carrier_account_id FROM channels WHERE id = ?`), res.ChannelID); err != nil {
			t.Fatal(err)
		}
		// A prefix, and a search of two words ending with it: the
		// conversation whose new word it starts.
		type search struct {
			prefix, two string
			want        parley.ID
		}
		var searches []search

		named := newContact(t, db, a.account.ID, "Zanzibar Quillfeather", "+14155550155")
		id := a.receive(t, text{from: named.Phones[0], body: "hello from the harpsichordist"}).Conversation.ID
		searches = append(searches, search{"quillf", "zanzibar quillf", id},
			search{"harpsich", "the harpsich", id}) // a new thread: its contact's name and its first text

		a.receive(t, text{from: seeded[0].Phone, to: seedCh.Number, carrierAccount: seedCh.SID, body: "the xylophonist called"})
		searches = append(searches, search{"xylophoni", "the xylophoni", seeded[0].ID}) // a reply

		route, err := db.FindInboundRoute(ctx, conversations.CarrierTwilio, seedCh.SID, seedCh.Number, "")
		if err != nil {
			t.Fatal(err)
		}
		in := conversations.InboundText{CarrierMessageID: newSID("SM"), From: seeded[1].Phone, To: seedCh.Number, Body: "ask the vibraphonist", Segments: 1}
		if _, errs := db.IngestBatch(ctx, []conversations.IngestPlan{conversations.Plan(route, in, t0)}); errs[0] != nil {
			t.Fatal(errs[0])
		}
		searches = append(searches, search{"vibraph", "the vibraph", seeded[1].ID}) // a text of a batch

		if _, err := db.AddNote(ctx, conversations.Note{AccountID: a.account.ID, ConversationID: seeded[2].ID, Author: a.admin,
			Body: "bring the marimbaphone", At: t0}); err != nil {
			t.Fatal(err)
		}
		searches = append(searches, search{"marimbaph", "the marimbaph", seeded[2].ID}) // a note

		// A staff reply and a keyword's confirmation: texts queued in
		// the thread, their words added as its activity moves.
		if _, err := db.QueueReply(ctx, conversations.Reply{AccountID: a.account.ID, ConversationID: id, Author: a.admin,
			Body: "the glockenspielist is booked", At: t0}); err != nil {
			t.Fatal(err)
		}
		searches = append(searches, search{"glockensp", "the glockensp", id})
		stopped := a.receive(t, text{from: "+14155550177", body: "STOP"})
		if stopped.Reply == nil {
			t.Fatal("a STOP queued no confirmation")
		}
		searches = append(searches, search{"resubscr", "to resubscr", stopped.Conversation.ID})

		renamed := "Ottoline Wobblesworth"
		if _, err := db.UpdateContact(ctx, a.account.ID, seeded[3].Contact, conversations.ContactPatch{Name: &renamed}, t0); err != nil {
			t.Fatal(err)
		}
		searches = append(searches, search{"wobblesw", "ottoline wobblesw", seeded[3].ID}) // a renamed contact

		// A thread whose phone moves to another contact.
		mover := newContact(t, db, a.account.ID, "Persimmon Quackenbush", "+14155550166")
		none := []string{}
		if _, err := db.UpdateContact(ctx, a.account.ID, seeded[0].Contact, conversations.ContactPatch{Phones: &none}, t0); err != nil {
			t.Fatal(err)
		}
		phones := []string{mover.Phones[0], seeded[0].Phone}
		if _, err := db.UpdateContact(ctx, a.account.ID, mover.ID, conversations.ContactPatch{Phones: &phones}, t0); err != nil {
			t.Fatal(err)
		}
		searches = append(searches, search{"quackenb", "persimmon quackenb", seeded[0].ID})

		// A prefix of more words than are worth spelling out: the hits
		// plan reads it as a prefix, and still finds every conversation.
		var many []parley.ID
		for i := range 40 {
			c := a.receive(t, text{from: fmt.Sprintf("+1415555%04d", 2000+i), body: fmt.Sprintf("code zzword%02d", i)}).Conversation
			many = append(many, c.ID)
		}
		got, _, err := db.FindConversations(ctx, conversations.ConversationFilter{AccountID: a.account.ID, Query: "zzwor"})
		if err != nil {
			t.Fatal(err)
		}
		if ids := conversationIDs(got); !slices.Equal(sorted(ids), many) {
			t.Errorf("q=zzwor found %v, want %v", ids, many)
		}
		if db.Dialect() == "postgres" {
			plan, err := explainList(t, db, conversations.ConversationFilter{AccountID: a.account.ID, Query: "zzwor"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(hitsPlan(plan), prefixInPlan("zzwor")) {
				t.Errorf("q=zzwor: the hits plan spelled out 40 words:\n%s", plan)
			}
		}

		for _, s := range searches {
			for _, q := range []string{s.prefix, s.two} {
				got, _, err := db.FindConversations(ctx, conversations.ConversationFilter{AccountID: a.account.ID, Query: q})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || got[0].ID != s.want {
					t.Errorf("q=%q found %v, want conversation %v alone", q, conversationIDs(got), s.want)
				}
				if db.Dialect() != "postgres" {
					continue
				}
				// The list went past the window and looked the word up whole.
				plan, err := explainList(t, db, conversations.ConversationFilter{AccountID: a.account.ID, Query: q})
				if err != nil {
					t.Fatal(err)
				}
				if hits := hitsPlan(plan); hits == "" || strings.Contains(hits, prefixInPlan(s.prefix)) {
					t.Errorf("q=%q: the hits plan did not spell the prefix out:\n%s", q, plan)
				}
			}
		}
	})
}

func conversationIDs(cs []conversations.Conversation) []parley.ID {
	ids := make([]parley.ID, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

func sorted(ids []parley.ID) []parley.ID {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// prefixInPlan is how EXPLAIN shows a prefix term: the tsquery 'word':* as
// a quoted constant.
func prefixInPlan(word string) string {
	return "''" + word + "'':*"
}

// TestRebuildRecentSearch: each rebuild leaves one recent index, over the
// share of conversations asked for, and records when it was built.
func TestRebuildRecentSearch(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		seededTenant(t, db, devdb.SeedSpec{Conversations: 400, Messages: 800, Agents: 1, Seed: 5})
		if db.Dialect() != "postgres" {
			if err := db.RebuildRecentSearch(ctx, 0.5, t0); err != nil || !db.RecentSearchBuiltAt(ctx).IsZero() {
				t.Errorf("SQLite rebuilt a recent index: %v", err)
			}
			return
		}
		if !db.RecentSearchBuiltAt(ctx).IsZero() {
			t.Error("a recent index before the first build")
		}
		covered := func() (indexes []string, rows int) {
			if err := db.SQL().SelectContext(ctx, &indexes, `SELECT indexname FROM pg_indexes
WHERE schemaname = current_schema() AND indexname LIKE 'conversations\_search\_recent\_%'`); err != nil {
				t.Fatal(err)
			}
			rows = count(t, db, `SELECT COUNT(*) FROM conversations WHERE last_message_at > (SELECT cutoff FROM search_recent)`)
			return indexes, rows
		}
		for i, share := range []float64{0.5, 0.1} {
			at := t0.Add(time.Duration(i) * time.Hour)
			if err := db.RebuildRecentSearch(ctx, share, at); err != nil {
				t.Fatal(err)
			}
			indexes, rows := covered()
			if len(indexes) != 1 {
				t.Errorf("share %v: recent indexes %v, want one", share, indexes)
			}
			if want := int(share * 400); rows < want-10 || rows > want+10 {
				t.Errorf("share %v: the index covers %d of 400 conversations", share, rows)
			}
			// What searches estimate its matches by.
			if recorded := count(t, db, `SELECT covered FROM search_recent`); recorded < rows-10 || recorded > rows+10 {
				t.Errorf("share %v: recorded %d conversations covered, the index covers %d", share, recorded, rows)
			}
			if got := db.RecentSearchBuiltAt(ctx); !got.Equal(at) {
				t.Errorf("share %v: built at %v, want %v", share, got, at)
			}
		}
	})
}

// TestSearchPlansFollowTheStatistics: on PostgreSQL a search past the
// window looks up only the view's matches (migration 00018); a word the
// statistics call rare is collected at once, and one that has become
// common since they were taken still lists right.
func TestSearchPlansFollowTheStatistics(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		if db.Dialect() != "postgres" {
			t.Skip("SQLite plans its FTS5 searches itself")
		}
		a, res := seededTenant(t, db, onePlanShare(db, devdb.SeedSpec{Conversations: 3000, Messages: 18000, Agents: 3, Seed: 11}))
		a.receive(t, text{from: "+14155550111", body: "the gutter leaks"})
		// A word added to every conversation after ANALYZE: the statistics
		// still call it rare.
		if _, err := db.SQL().ExecContext(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(ctx, `UPDATE conversations SET search_tsv = search_tsv || 'zzfresh'::tsvector WHERE account_id = $1`, a.account.ID); err != nil {
			t.Fatal(err)
		}
		explain := func(f conversations.ConversationFilter) string {
			t.Helper()
			f.AccountID = a.account.ID
			plan, err := explainList(t, db, f)
			if err != nil {
				t.Fatal(err)
			}
			return plan
		}
		// The hits of view=mine come from the index with the assignee in it.
		agent := res.AgentIDs[0]
		plan := explain(conversations.ConversationFilter{AssigneeID: agent, Query: "ada hopper"})
		lookup := fmt.Sprintf(`(conversation_assignee_word(assignee_id) @@ '''~%d'''::tsquery)`, agent)
		if !strings.Contains(hitsPlan(plan), lookup) {
			t.Errorf("view=mine q=ada hopper: the hits did not look the assignee up:\n%s", plan)
		}
		plan = explain(conversations.ConversationFilter{Unassigned: true, Query: "ada hopper"})
		if !strings.Contains(hitsPlan(plan), "conversations_search_unassigned") {
			t.Errorf("view=unassigned q=ada hopper: the hits did not use the unassigned's index:\n%s", plan)
		}
		// A rare word: its matches at once, no window.
		plan = explain(conversations.ConversationFilter{Query: "gutter"})
		if !strings.HasPrefix(plan, "-- capped hits: ") || strings.Contains(plan, "-- window") {
			t.Errorf("q=gutter: not its matches at once:\n%s", plan)
		}
		// The fresh word is in 3,000 conversations: more than the cap, so
		// the window lists them.
		plan = explain(conversations.ConversationFilter{Query: "zzfresh"})
		if !strings.HasPrefix(plan, "-- capped hits: 2001 found") || !strings.Contains(plan, "-- window: 51 rows") {
			t.Errorf("q=zzfresh: the capped hits did not give way to the window:\n%s", plan)
		}
		got, _, err := db.FindConversations(ctx, conversations.ConversationFilter{AccountID: a.account.ID, Query: "zzfresh"})
		if err != nil {
			t.Fatal(err)
		}
		var want []parley.ID
		if err := db.SQL().SelectContext(ctx, &want, `SELECT id FROM conversations WHERE account_id = $1
ORDER BY last_message_at DESC, id DESC LIMIT 50`, a.account.ID); err != nil {
			t.Fatal(err)
		}
		if ids := conversationIDs(got); !slices.Equal(ids, want) {
			t.Errorf("q=zzfresh listed %v, want the 50 most recent conversations %v", ids, want)
		}
	})
}

// hitsPlan is the part of a list's plan from its first look-up of the
// matches through the search indexes on; "" when it made none.
func hitsPlan(plan string) string {
	at := len(plan)
	for _, mark := range []string{"-- capped hits", "-- recent hits", "-- hits"} {
		if i := strings.Index(plan, mark); i >= 0 {
			at = min(at, i)
		}
	}
	return plan[at:]
}

// seededTenant is a tenant whose account spec seeds (at t0) into an inbox
// and number of its own.
// onePlanShare scales a seed for SQLite, which serves every list with one
// plan (no recency window, no hits lookup, no recent index): a third of the
// inbox checks that plan as well, at a third of what the race detector
// makes the pure-Go SQLite cost. PostgreSQL's plans need the full size.
func onePlanShare(db *store.DB, spec devdb.SeedSpec) devdb.SeedSpec {
	if db.Dialect() == "postgres" {
		return spec
	}
	spec.Conversations, spec.Messages, spec.Outcomes = spec.Conversations/3, spec.Messages/3, spec.Outcomes/3
	return spec
}

func seededTenant(t *testing.T, db *store.DB, spec devdb.SeedSpec) (*tenant, devdb.SeedResult) {
	t.Helper()
	a := newTenant(t, db, newSID("AC"), bizA)
	spec.AccountID, spec.Now = a.account.ID, t0
	res, err := storetest.DevDB(t, db).Seed(ctx, db, spec)
	if err != nil {
		t.Fatal(err)
	}
	return a, res
}

// explainList is the plans of the statements a list runs (devdb).
func explainList(t *testing.T, db *store.DB, f conversations.ConversationFilter) (string, error) {
	t.Helper()
	return storetest.DevDB(t, db).ExplainConversations(ctx, db, f)
}

// TestCampaignTextsAreSearchable: a campaign's personalised texts make
// their conversations findable by their words, new threads and existing
// ones alike, as a reply's do; the queue writes them set-wise.
func TestCampaignTextsAreSearchable(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		existing := tn.receive(t, text{from: "+14155557101", body: "Do you clean gutters?"}).Conversation
		newContact(t, db, tn.account.ID, "Marguerite Okonkwo", "+14155557102")
		tn.startCampaign(t, campaigns.Audience{Phones: []string{"+14155557101", "+14155557102", "+14155557103"}}, 10)
		tn.advance(t, t0.Add(time.Second))

		find := func(q string) []parley.ID {
			t.Helper()
			got, _, err := db.FindConversations(ctx, conversations.ConversationFilter{AccountID: tn.account.ID, Query: q})
			if err != nil {
				t.Fatal(err)
			}
			var ids []parley.ID
			for _, cv := range got {
				ids = append(ids, cv.ID)
			}
			return ids
		}
		// "Hi {{first_name|there}}": every thread has "hi", only the named
		// contact's has her first name, and nobody wrote "there" to her.
		if got := find("hi"); len(got) != 3 || !slices.Contains(got, existing.ID) {
			t.Fatalf(`"hi" found %v; want the campaign's 3 threads, %d among them`, got, existing.ID)
		}
		if got := find("marguerite"); len(got) != 1 {
			t.Errorf(`"marguerite" found %d threads; want her one`, len(got))
		}
		if got := find("there"); len(got) != 2 {
			t.Errorf(`"there" found %d threads; want the 2 without a name`, len(got))
		}
		if got := find("gutters"); !slices.Equal(got, []parley.ID{existing.ID}) {
			t.Errorf(`"gutters" found %v; want the existing thread's earlier words kept`, got)
		}
	})
}

// TestSearchDocumentsKeepNoPositions (PostgreSQL: SQLite indexes each
// text in FTS5): every writer of a thread's search document stores its
// words without positions, which nothing reads (migration 00055), and
// the words stay searchable. A document with positions is twice the size
// and goes out of line in a long thread.
func TestSearchDocumentsKeepNoPositions(t *testing.T) {
	db := storetest.MustOpen(t, "postgres")
	tn := newTenant(t, db, newSID("AC"), bizA)
	positioned := func(t *testing.T) []string {
		t.Helper()
		var docs []string
		if err := db.SQL().SelectContext(ctx, &docs, `SELECT search_tsv::text FROM conversations
WHERE account_id = $1 AND search_tsv <> strip(search_tsv) ORDER BY id`, tn.account.ID); err != nil {
			t.Fatal(err)
		}
		return docs
	}
	found := func(t *testing.T, q string) int {
		t.Helper()
		got, _, err := db.FindConversations(ctx, conversations.ConversationFilter{AccountID: tn.account.ID, Query: q})
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	// A new thread (the batch's insert), a text in it (the batch's
	// update) and one written alone.
	tn.receive(t, text{from: "+14155557201", body: "the gutter leaks again"})
	tn.receive(t, text{from: "+14155557201", body: "the gutter leaks at the back"})
	if _, err := db.IngestAlone(ctx, tn.plan(t, "+14155557201", "and the skylight", newSID("SM"))); err != nil {
		t.Fatal(err)
	}
	// A staff text queued in the thread, a note, a campaign's new thread.
	tn.quick(t, "+14155557201", t0.Add(time.Minute))
	conv, _ := tn.conversationWith(t, "+14155557201")
	if _, err := db.AddNote(ctx, conversations.Note{AccountID: tn.account.ID, ConversationID: conv, Author: tn.admin,
		Body: "call them about the chimney", At: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	tn.startCampaign(t, campaigns.Audience{Phones: []string{"+14155557202"}}, 10)
	tn.advance(t, t0.Add(2*time.Second))
	if docs := positioned(t); len(docs) != 0 {
		t.Fatalf("documents with positions: %q", docs)
	}
	// The contact renamed, and its phone moved to another contact: both
	// rebuild the document from the messages.
	c := newContact(t, db, tn.account.ID, "Ada Lovelace", "+14155557203")
	tn.receive(t, text{from: "+14155557203", body: "a pergola quote please"})
	name := "Ada Byron"
	if _, err := db.UpdateContact(ctx, tn.account.ID, c.ID, conversations.ContactPatch{Name: &name}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	grace := newContact(t, db, tn.account.ID, "Grace Hopper", "+14155557209")
	was, _, err := db.FindContacts(ctx, conversations.ContactFilter{AccountID: tn.account.ID, Phone: "+14155557201"})
	if err != nil || len(was) != 1 {
		t.Fatalf("FindContacts: %v, %v", was, err)
	}
	elsewhere := []string{"+14155557208"}
	if _, err := db.UpdateContact(ctx, tn.account.ID, was[0].ID, conversations.ContactPatch{Phones: &elsewhere}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	phones := []string{"+14155557209", "+14155557201"}
	if _, err := db.UpdateContact(ctx, tn.account.ID, grace.ID, conversations.ContactPatch{Phones: &phones}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if docs := positioned(t); len(docs) != 0 {
		t.Fatalf("documents with positions: %q", docs)
	}
	for q, want := range map[string]int{"gutter": 1, "skylight": 1, "table": 1, "chimney": 1, "there": 1, "byron pergola": 1, "hopper gutter": 1, "lovelace": 0} {
		if got := found(t, q); got != want {
			t.Errorf("q=%q found %d threads, want %d", q, got, want)
		}
	}
}
