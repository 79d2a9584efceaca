package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store/storetest"
)

// Opening a conversation (markRead, as the thread page does) takes its
// unread marker away for that person; the open one is never unread and is
// the list's current row. (SQLite: the store's glances are tested on both
// databases in store/glances_test.go.)
func TestListMarksReadAndCurrent(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t, "sqlite")
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	clock := &parley.FixedClock{T: at}
	_, admin, err := db.CreateAccount(ctx, "Acme", conversations.NewUser{Email: "ada@example.com", Name: "Ada", Role: conversations.RoleAdmin},
		conversations.NewTokenSecret(), at)
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := db.CreateInbox(ctx, conversations.Inbox{AccountID: admin.AccountID, Name: "Support", Kind: conversations.InboxSupport, CreatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	const sid, business = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "+14155550100"
	if _, err := db.CreateChannel(ctx, conversations.Channel{AccountID: admin.AccountID, InboxID: inbox.ID, Carrier: conversations.CarrierTwilio,
		PhoneNumber: business, CarrierAccountID: sid, AuthToken: "token", CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	route, err := db.FindInboundRoute(ctx, conversations.CarrierTwilio, sid, business, "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []parley.ID
	for i, from := range []string{"+14155550101", "+14155550102"} {
		text := conversations.InboundText{CarrierMessageID: "SM" + strings.Repeat("0", 31) + string(rune('1'+i)), From: from, To: business, Body: "hello"}
		res, err := db.Ingest(ctx, conversations.Plan(route, text, at.Add(time.Duration(i)*time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Conversation.ID)
	}

	s, err := New(Deps{Store: db, Tags: db, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	request := func(open parley.ID) *http.Request {
		path := "/inbox"
		if open != 0 {
			path = "/inbox/conversations/" + open.String()
		}
		r := httptest.NewRequest(http.MethodGet, path+"?status=new", nil)
		r = r.WithContext(context.WithValue(r.Context(), authKey{}, auth{user: admin}))
		if open != 0 {
			r = mux.SetURLVars(r, map[string]string{"id": open.String()})
		}
		return r
	}
	rows := func(t *testing.T, open parley.ID) map[parley.ID]listRow {
		t.Helper()
		l, err := s.loadList(request(open))
		if err != nil {
			t.Fatal(err)
		}
		out := map[parley.ID]listRow{}
		for _, r := range l.Rows {
			out[r.ID] = r
		}
		return out
	}

	first, second := ids[0], ids[1]
	if got := rows(t, 0); !got[first].Unread || !got[second].Unread || got[first].Current || got[second].Current {
		t.Fatalf("before anything was opened: %+v", got)
	}
	got := rows(t, first)
	if !got[first].Current || got[first].Unread || got[second].Current || !got[second].Unread {
		t.Errorf("with the first open, rows = %+v; want it current and not unread", got)
	}
	if want := "/inbox/conversations/" + second.String() + "?status=new"; got[second].Href != want {
		t.Errorf("a row links to %q, want %q", got[second].Href, want)
	}

	clock.Advance(time.Minute)
	if err := s.markRead(request(first), first); err != nil {
		t.Fatalf("markRead: %v", err)
	}
	if got := rows(t, 0); got[first].Unread || !got[second].Unread {
		t.Errorf("after opening the first, unread: first %v, second %v; want false, true", got[first].Unread, got[second].Unread)
	}

	// With one number the rows do not repeat it; with a second, each row
	// says which number its thread is on.
	listHTML := func() string {
		t.Helper()
		r := request(0)
		r.URL.RawQuery += "&pane=list"
		l, err := s.loadList(r)
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		if err := s.render(w, r, "inbox", "Inbox", inboxData{List: l}); err != nil {
			t.Fatal(err)
		}
		return w.Body.String()
	}
	if html := listHTML(); strings.Contains(html, "conv-number") {
		t.Errorf("with one number the list names it")
	}
	if _, err := db.CreateChannel(ctx, conversations.Channel{AccountID: admin.AccountID, InboxID: inbox.ID, Carrier: conversations.CarrierTwilio,
		PhoneNumber: "+14155550177", CarrierAccountID: sid, AuthToken: "token", CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if html := listHTML(); strings.Count(html, ">to &#43;"+business[1:]+"<") != 2 {
		t.Errorf("with two numbers the list's two rows do not each say %s:\n%s", business, html)
	}
}
