package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
)

// textNumber makes a phone text one of the business numbers.
func (e *env) textNumber(to, from, body string) {
	e.t.Helper()
	res, err := e.carrier.SendInbound(context.Background(), twiliotest.Inbound{AccountSid: accountSID, From: from, To: to, Body: body})
	if err != nil || res.StatusCode != 200 {
		e.t.Fatalf("text %s -> %s: %+v %v", from, to, res, err)
	}
}

// listPage is one page of a list answer.
type listPage struct {
	Data       []map[string]any `json:"data"`
	NextCursor *string          `json:"next_cursor"`
}

// page fetches one page of a list as token, after cursor (none when empty).
func (e *env) page(token, path string, limit int, cursor string) listPage {
	e.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	q := fmt.Sprintf("%s%slimit=%d", path, sep, limit)
	if cursor != "" {
		q += "&cursor=" + url.QueryEscape(cursor)
	}
	res := e.call(token, "GET", q, nil)
	e.must(200, res)
	var p listPage
	if err := json.Unmarshal(res.Body, &p); err != nil {
		e.t.Fatalf("GET %s: %v: %s", q, err, res.Body)
	}
	if !strings.Contains(string(res.Body), `"next_cursor":`) {
		e.t.Errorf("GET %s has no next_cursor key: %s", q, res.Body)
	}
	return p
}

// allPages follows next_cursor to the end and returns every page.
func (e *env) allPages(token, path string, limit int) []listPage {
	e.t.Helper()
	var pages []listPage
	cursor := ""
	for i := 0; i < 100; i++ {
		p := e.page(token, path, limit, cursor)
		pages = append(pages, p)
		if p.NextCursor == nil {
			return pages
		}
		cursor = *p.NextCursor
	}
	e.t.Fatalf("GET %s: more than 100 pages", path)
	return nil
}

func ids(rows []map[string]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprint(r["id"])
	}
	return out
}

func pageSizes(pages []listPage) []int {
	out := make([]int, len(pages))
	for i, p := range pages {
		out[i] = len(p.Data)
	}
	return out
}

// mustTime parses an API time, which must be RFC 3339 in UTC.
func mustTime(t *testing.T, what string, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !strings.HasSuffix(s, "Z") {
		t.Errorf("%s = %v, want an RFC 3339 UTC time", what, v)
	}
	return at
}

func TestConversationListViews(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	e.text("+14155550100", "first")
	e.text("+14155550101", "second")
	agent, agentToken, _ := e.addStaff("agent@example.com", "agent", false)
	_, viewerToken, _ := e.addStaff("viewer@example.com", "agent", true)
	admin := e.must(200, e.admin("GET", "/v1/me", nil))

	tests := []struct {
		name   string
		token  string
		query  string
		status int
		count  int
		field  string
	}{
		{"admin defaults to all", e.token, "", 200, 2, ""},
		{"admin view=all", e.token, "?view=all", 200, 2, ""},
		{"admin view=unassigned", e.token, "?view=unassigned", 200, 2, ""},
		{"admin view=mine", e.token, "?view=mine", 200, 0, ""},
		{"agent defaults to mine", agentToken, "", 200, 0, ""},
		{"agent view=mine", agentToken, "?view=mine", 200, 0, ""},
		{"agent view=all", agentToken, "?view=all", 403, 0, ""},
		{"agent view=unassigned", agentToken, "?view=unassigned", 403, 0, ""},
		{"agent filters on another assignee", agentToken, "?assignee_id=" + admin["id"].(string), 403, 0, ""},
		{"agent filters on themself", agentToken, "?assignee_id=" + agent["id"].(string), 200, 0, ""},
		{"view-all agent defaults to all", viewerToken, "", 200, 2, ""},
		{"view-all agent view=unassigned", viewerToken, "?view=unassigned", 200, 2, ""},
		{"view=bogus", e.token, "?view=bogus", 422, 0, "view"},
		{"agent view=bogus", agentToken, "?view=bogus", 422, 0, "view"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.call(tt.token, "GET", "/v1/conversations"+tt.query, nil)
			switch tt.status {
			case 200:
				e.must(200, res)
				if n := len(res.Data()); n != tt.count {
					t.Errorf("conversations = %d, want %d", n, tt.count)
				}
				if !strings.Contains(string(res.Body), `"data":[`) {
					t.Errorf("data is not an array: %s", res.Body)
				}
			case 403:
				wantAPIError(t, res, 403, "forbidden")
			default:
				wantAPIError(t, res, tt.status, "", tt.field)
			}
		})
	}

	conv := e.admin("GET", "/v1/conversations", nil).Data()[0]
	id := conv["id"].(string)
	contactID := conv["contact"].(map[string]any)["id"].(string)
	t.Run("an agent cannot open a conversation not assigned to them", func(t *testing.T) {
		wantAPIError(t, e.call(agentToken, "GET", "/v1/conversations/"+id, nil), 403, "forbidden")
		wantAPIError(t, e.call(agentToken, "GET", "/v1/conversations/"+id+"/messages", nil), 403, "forbidden")
		if res := e.call(agentToken, "GET", "/v1/contacts/"+contactID+"/conversations", nil); res.Status != 200 || len(res.Data()) != 0 {
			t.Errorf("agent's contact conversations = %d %s, want none", res.Status, res.Body)
		}
	})
	t.Run("a view-all agent opens any conversation", func(t *testing.T) {
		e.must(200, e.call(viewerToken, "GET", "/v1/conversations/"+id, nil))
		e.must(200, e.call(viewerToken, "GET", "/v1/conversations/"+id+"/messages", nil))
		if n := len(e.must(200, e.call(viewerToken, "GET", "/v1/contacts/"+contactID+"/conversations", nil))["data"].([]any)); n != 1 {
			t.Errorf("viewer's contact conversations = %d", n)
		}
	})
}

func TestConversationListFilters(t *testing.T) {
	e := boot(t, "")
	first := e.setupChannel(nil)
	const otherNumber = "+14155550198"
	inboxB := e.must(201, e.admin("POST", "/v1/inboxes", map[string]any{"name": "Sales", "kind": "sales"}))
	e.must(201, e.admin("POST", "/v1/channels", map[string]any{"carrier": "twilio", "phone_number": otherNumber,
		"inbox_id": inboxB["id"], "account_sid": accountSID, "auth_token": authToken}))
	e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"name": "Grace Hopper", "phones": []string{"+14155550100"}}))
	e.text("+14155550100", "to support")
	e.textNumber(otherNumber, "+14155550101", "to sales")
	sales := e.admin("GET", "/v1/conversations?contact_phone="+url.QueryEscape("+14155550101"), nil).Data()[0]
	e.must(200, e.admin("PATCH", "/v1/conversations/"+sales["id"].(string), map[string]any{"priority": "high"}))

	tests := []struct {
		name   string
		query  string
		phones []string // contact_phone of the expected rows, any order
		field  string   // a 422 naming this field
	}{
		{"status=new", "status=new", []string{"+14155550100", "+14155550101"}, ""},
		{"status comma list", "status=new,open", []string{"+14155550100", "+14155550101"}, ""},
		{"status comma list with a space", "status=" + url.QueryEscape("open, new"), []string{"+14155550100", "+14155550101"}, ""},
		{"status=resolved", "status=resolved", nil, ""},
		{"status=bogus", "status=bogus", nil, "status"},
		{"one bogus status in the list", "status=new,bogus", nil, "status"},
		{"contact_phone E.164 escaped", "contact_phone=" + url.QueryEscape("+14155550100"), []string{"+14155550100"}, ""},
		{"contact_phone national", "contact_phone=" + url.QueryEscape("(415) 555-0100"), []string{"+14155550100"}, ""},
		{"contact_phone with a raw +", "contact_phone=+14155550100", []string{"+14155550100"}, ""},
		{"contact_phone dashed", "contact_phone=415-555-0101", []string{"+14155550101"}, ""},
		{"contact_phone nobody texted from", "contact_phone=" + url.QueryEscape("+14155550177"), nil, ""},
		{"contact_phone not a phone", "contact_phone=hello,world", nil, "contact_phone"},
		{"inbox_id of the first inbox", "inbox_id=" + first["inbox_id"].(string), []string{"+14155550100"}, ""},
		{"inbox_id of the second inbox", "inbox_id=" + inboxB["id"].(string), []string{"+14155550101"}, ""},
		{"inbox_id unknown", "inbox_id=999999", nil, ""},
		{"inbox_id malformed", "inbox_id=abc", nil, "inbox_id"},
		{"priority=high", "priority=high", []string{"+14155550101"}, ""},
		{"priority=none", "priority=none", []string{"+14155550100"}, ""},
		{"priority=urgent", "priority=urgent", nil, ""},
		{"priority=bogus", "priority=bogus", nil, "priority"},
		{"filters combine", "inbox_id=" + inboxB["id"].(string) + "&contact_phone=" + url.QueryEscape("+14155550100"), nil, ""},
		// API.md lists q= among the filters; an ignored q would answer
		// every thread to a search that matches none.
		{"q matching the contact's name", "q=Hopper", []string{"+14155550100"}, ""},
		{"q matching nothing", "q=Lovelace", nil, ""},
		{"limit=0", "limit=0", nil, "limit"},
		{"limit=201", "limit=201", nil, "limit"},
		{"limit=abc", "limit=abc", nil, "limit"},
		{"limit=200", "limit=200", []string{"+14155550100", "+14155550101"}, ""},
		{"garbage cursor", "cursor=garbage", nil, "cursor"},
		{"base64 garbage cursor", "cursor=" + url.QueryEscape("bm90LWEtY3Vyc29y"), nil, "cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.admin("GET", "/v1/conversations?"+tt.query, nil)
			if tt.field != "" {
				wantAPIError(t, res, 422, "", tt.field)
				return
			}
			e.must(200, res)
			var got []string
			for _, c := range res.Data() {
				got = append(got, c["contact_phone"].(string))
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.phones) {
				t.Errorf("contact phones = %v, want %v", got, tt.phones)
			}
		})
	}
}

func TestConversationListPagination(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	for i := 0; i < 5; i++ {
		e.text(fmt.Sprintf("+1415555020%d", i), fmt.Sprintf("hello %d", i))
	}
	unpaged := e.page(e.token, "/v1/conversations", 50, "")
	if unpaged.NextCursor != nil {
		t.Errorf("next_cursor = %v on a complete list", *unpaged.NextCursor)
	}
	full := unpaged.Data
	if len(full) != 5 {
		t.Fatalf("conversations = %d, want 5", len(full))
	}
	// The newest thread comes first.
	if full[0]["contact_phone"] != "+14155550204" || full[4]["contact_phone"] != "+14155550200" {
		t.Errorf("order = %v, want last_message_at desc", phonesOf(full))
	}

	t.Run("pages of 2, 2, 1", func(t *testing.T) {
		pages := e.allPages(e.token, "/v1/conversations", 2)
		if got := pageSizes(pages); !slices.Equal(got, []int{2, 2, 1}) {
			t.Fatalf("page sizes = %v, want [2 2 1]", got)
		}
		var rows []map[string]any
		for _, p := range pages {
			rows = append(rows, p.Data...)
		}
		if got, want := ids(rows), ids(full); !slices.Equal(got, want) {
			t.Errorf("paged ids = %v, want %v (the unpaged order)", got, want)
		}
		assertNewestFirst(t, rows)
	})

	t.Run("a page that ends the list has no cursor", func(t *testing.T) {
		pages := e.allPages(e.token, "/v1/conversations", 5)
		if got := pageSizes(pages); !slices.Equal(got, []int{5}) {
			t.Errorf("page sizes with limit=5 = %v, want [5]", got)
		}
	})

	t.Run("a thread started while paging is neither duplicated nor shifts the pages", func(t *testing.T) {
		p1 := e.page(e.token, "/v1/conversations", 2, "")
		if p1.NextCursor == nil {
			t.Fatal("page 1 has no next_cursor")
		}
		e.text("+14155550299", "I am new here")
		p2 := e.page(e.token, "/v1/conversations", 2, *p1.NextCursor)
		if p2.NextCursor == nil {
			t.Fatal("page 2 has no next_cursor")
		}
		p3 := e.page(e.token, "/v1/conversations", 2, *p2.NextCursor)
		if p3.NextCursor != nil {
			t.Errorf("page 3 next_cursor = %v, want null", *p3.NextCursor)
		}
		seen := map[string]int{}
		var rows []map[string]any
		for _, p := range []listPage{p1, p2, p3} {
			for _, r := range p.Data {
				seen[fmt.Sprint(r["id"])]++
				rows = append(rows, r)
				if r["contact_phone"] == "+14155550299" {
					t.Errorf("the new thread showed up behind the cursor: %v", r)
				}
			}
		}
		for id, n := range seen {
			if n > 1 {
				t.Errorf("conversation %s appears on %d pages", id, n)
			}
		}
		for _, id := range ids(full) {
			if seen[id] == 0 {
				t.Errorf("conversation %s, which existed before paging, was skipped", id)
			}
		}
		assertNewestFirst(t, rows)
		if n := len(e.admin("GET", "/v1/conversations", nil).Data()); n != 6 {
			t.Errorf("conversations after the new text = %d, want 6", n)
		}
	})

	t.Run("a cursor combines with filters", func(t *testing.T) {
		pages := e.allPages(e.token, "/v1/conversations?status=new", 4)
		if got := pageSizes(pages); !slices.Equal(got, []int{4, 2}) {
			t.Errorf("page sizes = %v, want [4 2]", got)
		}
	})
}

func phonesOf(rows []map[string]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprint(r["contact_phone"])
	}
	return out
}

// assertNewestFirst checks rows are ordered by last_message_at, newest first.
func assertNewestFirst(t *testing.T, rows []map[string]any) {
	t.Helper()
	for i := 1; i < len(rows); i++ {
		prev, cur := mustTime(t, "last_message_at", rows[i-1]["last_message_at"]), mustTime(t, "last_message_at", rows[i]["last_message_at"])
		if cur.After(prev) {
			t.Errorf("row %d (%v) is newer than row %d (%v)", i, cur, i-1, prev)
		}
	}
}

func TestConversationShape(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(nil)
	e.text("+14155550100", "hello")
	listed := e.admin("GET", "/v1/conversations", nil).Data()[0]
	id := listed["id"].(string)

	c := e.must(200, e.admin("GET", "/v1/conversations/"+id, nil))
	want := map[string]any{"id": id, "inbox_id": ch["inbox_id"], "channel_id": ch["id"], "contact_phone": "+14155550100",
		"business_phone": business, "status": "new", "priority": "none", "assignee_id": nil, "snoozed_until": nil, "opted_out": false}
	for k, v := range want {
		got, ok := c[k]
		if !ok {
			t.Errorf("conversation has no %q: %v", k, c)
		} else if got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	contact, _ := c["contact"].(map[string]any)
	if contact == nil {
		t.Fatalf("contact = %v, want {id, name}", c["contact"])
	}
	if cid, _ := contact["id"].(string); cid == "" {
		t.Errorf("contact.id = %v", contact["id"])
	}
	if _, ok := contact["name"].(string); !ok {
		t.Errorf("contact.name = %v, want a string", contact["name"])
	}
	for _, k := range []string{"last_message_at", "created_at", "updated_at"} {
		mustTime(t, k, c[k])
	}
	for k, v := range listed {
		if fmt.Sprint(c[k]) != fmt.Sprint(v) {
			t.Errorf("list and detail disagree on %s: %v vs %v", k, v, c[k])
		}
	}

	t.Run("unknown ids are 404", func(t *testing.T) {
		for _, path := range []string{"/v1/conversations/999999", "/v1/conversations/abc", "/v1/conversations/999999/messages"} {
			wantAPIError(t, e.admin("GET", path, nil), 404, "not_found")
		}
	})
}

func TestConversationMessages(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	const from = "+14155550100"
	var sids []string
	for i := 1; i <= 5; i++ {
		sids = append(sids, e.text(from, fmt.Sprintf("message %d", i)).MessageSid)
	}
	conv := e.admin("GET", "/v1/conversations", nil).Data()[0]
	id := conv["id"].(string)

	res := e.admin("GET", "/v1/conversations/"+id+"/messages", nil)
	msgs := res.Data()
	if len(msgs) != 5 {
		t.Fatalf("messages = %d, want 5", len(msgs))
	}
	if got := e.must(200, res)["next_cursor"]; got != nil {
		t.Errorf("next_cursor = %v on a complete list", got)
	}
	for i, m := range msgs {
		if m["body"] != fmt.Sprintf("message %d", i+1) {
			t.Errorf("message %d body = %v, want oldest first", i, m["body"])
		}
	}

	t.Run("message shape", func(t *testing.T) {
		m := msgs[0]
		want := map[string]any{"conversation_id": id, "direction": "inbound", "kind": "text", "body": "message 1",
			"status": "received", "error_code": nil, "author_id": nil, "campaign_id": nil}
		for k, v := range want {
			got, ok := m[k]
			if !ok {
				t.Errorf("message has no %q: %v", k, m)
			} else if got != v {
				t.Errorf("%s = %v, want %v", k, got, v)
			}
		}
		if mid, _ := m["id"].(string); mid == "" {
			t.Errorf("id = %v, want a string", m["id"])
		}
		if media, ok := m["media_urls"].([]any); !ok || len(media) != 0 {
			t.Errorf("media_urls = %#v, want []", m["media_urls"])
		}
		if sids[0] != "" && m["carrier_message_id"] != sids[0] {
			t.Errorf("carrier_message_id = %v, want the MessageSid %s", m["carrier_message_id"], sids[0])
		}
		if _, ok := m["carrier_message_id"]; !ok {
			t.Errorf("message has no carrier_message_id")
		}
		if seg, _ := m["segments"].(float64); seg != 1 {
			t.Errorf("segments = %v, want 1", m["segments"])
		}
		mustTime(t, "created_at", m["created_at"])
	})

	t.Run("pages of 2, 2, 1 oldest first", func(t *testing.T) {
		pages := e.allPages(e.token, "/v1/conversations/"+id+"/messages", 2)
		if got := pageSizes(pages); !slices.Equal(got, []int{2, 2, 1}) {
			t.Fatalf("page sizes = %v, want [2 2 1]", got)
		}
		var rows []map[string]any
		for _, p := range pages {
			rows = append(rows, p.Data...)
		}
		if got, want := ids(rows), ids(msgs); !slices.Equal(got, want) {
			t.Errorf("paged ids = %v, want %v", got, want)
		}
	})

	t.Run("a message arriving while paging comes on a later page", func(t *testing.T) {
		p1 := e.page(e.token, "/v1/conversations/"+id+"/messages", 3, "")
		e.text(from, "message 6")
		var bodies []string
		for _, m := range p1.Data {
			bodies = append(bodies, m["body"].(string))
		}
		for p := p1; p.NextCursor != nil; {
			p = e.page(e.token, "/v1/conversations/"+id+"/messages", 3, *p.NextCursor)
			for _, m := range p.Data {
				bodies = append(bodies, m["body"].(string))
			}
		}
		want := []string{"message 1", "message 2", "message 3", "message 4", "message 5", "message 6"}
		if !slices.Equal(bodies, want) {
			t.Errorf("bodies = %v, want %v", bodies, want)
		}
	})

	t.Run("bad paging is 422", func(t *testing.T) {
		for _, q := range []string{"limit=0", "limit=201", "cursor=garbage"} {
			res := e.admin("GET", "/v1/conversations/"+id+"/messages?"+q, nil)
			wantAPIError(t, res, 422, "", strings.SplitN(q, "=", 2)[0])
		}
	})
}

func TestContacts(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)

	created := e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"name": "Grace Hopper", "phones": []string{"(415) 555-0101"},
		"type": "customer", "attributes": map[string]any{"plan": "gold"}}))
	id, _ := created["id"].(string)
	if id == "" {
		t.Fatalf("contact = %v", created)
	}
	if phones, _ := created["phones"].([]any); len(phones) != 1 || phones[0] != "+14155550101" {
		t.Errorf("phones = %v, want [+14155550101]", created["phones"])
	}
	if created["name"] != "Grace Hopper" || created["type"] != "customer" {
		t.Errorf("contact = %v", created)
	}
	if attrs, _ := created["attributes"].(map[string]any); attrs["plan"] != "gold" {
		t.Errorf("attributes = %v", created["attributes"])
	}

	t.Run("GET by id", func(t *testing.T) {
		got := e.must(200, e.admin("GET", "/v1/contacts/"+id, nil))
		for _, k := range []string{"id", "name", "type"} {
			if got[k] != created[k] {
				t.Errorf("%s = %v, want %v", k, got[k], created[k])
			}
		}
		if fmt.Sprint(got["phones"]) != fmt.Sprint(created["phones"]) || fmt.Sprint(got["attributes"]) != fmt.Sprint(created["attributes"]) {
			t.Errorf("contact = %v, want %v", got, created)
		}
		wantAPIError(t, e.admin("GET", "/v1/contacts/999999", nil), 404, "not_found")
	})

	t.Run("create rejects", func(t *testing.T) {
		tests := []struct {
			name   string
			body   map[string]any
			status int
			code   string
			field  string
		}{
			{"a phone of another contact", map[string]any{"name": "Copycat", "phones": []string{"+1 415 555 0101"}}, 409, "phone_taken", "phones"},
			{"a new phone with a taken one", map[string]any{"name": "Copycat", "phones": []string{"+14155550150", "415.555.0101"}}, 409, "phone_taken", "phones"},
			{"an invalid phone", map[string]any{"name": "Bad", "phones": []string{"hello"}}, 422, "", "phones"},
			{"a too short phone", map[string]any{"name": "Bad", "phones": []string{"+1415555"}}, 422, "", "phones"},
			{"a valid and an invalid phone", map[string]any{"name": "Bad", "phones": []string{"+14155550151", "555"}}, 422, "", "phones"},
			{"phones not an array", map[string]any{"name": "Bad", "phones": "+14155550152"}, 422, "", "phones"},
			{"attributes not an object", map[string]any{"name": "Bad", "attributes": []string{"gold"}}, 422, "", "attributes"},
			{"neither a name nor a phone", map[string]any{"phones": []string{}, "type": "lead"}, 422, "", "name"},
			{"a blank name and no phone", map[string]any{"name": "  "}, 422, "", "phones"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantAPIError(t, e.admin("POST", "/v1/contacts", tt.body), tt.status, tt.code, tt.field)
			})
		}
		list := e.admin("GET", "/v1/contacts", nil).Data()
		if len(list) != 1 || list[0]["id"] != id {
			t.Errorf("contacts after refused creates = %v, want only %s", ids(list), id)
		}
		// The refused create claimed none of its phones.
		c := e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"name": "Later", "phones": []string{"+14155550150"}}))
		e.must(200, e.admin("GET", "/v1/contacts/"+c["id"].(string), nil))
	})

	t.Run("the same phone twice in one contact is kept once", func(t *testing.T) {
		c := e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"name": "Twice", "phones": []string{"+14155550160", "(415) 555-0160"}}))
		if phones, _ := c["phones"].([]any); len(phones) != 1 {
			t.Errorf("phones = %v", c["phones"])
		}
	})

	t.Run("search", func(t *testing.T) {
		tests := []struct {
			name, query string
			want        []string // names
			field       string
		}{
			{"phone E.164 escaped", "phone=" + url.QueryEscape("+14155550101"), []string{"Grace Hopper"}, ""},
			{"phone national", "phone=" + url.QueryEscape("(415) 555-0101"), []string{"Grace Hopper"}, ""},
			{"phone with a raw +", "phone=+14155550101", []string{"Grace Hopper"}, ""},
			{"phone nobody has", "phone=" + url.QueryEscape("+14155550199"), nil, ""},
			{"phone not a phone", "phone=hello!", nil, "phone"},
			{"q part of the name", "q=Hopp", []string{"Grace Hopper"}, ""},
			{"q in another case", "q=grace", []string{"Grace Hopper"}, ""},
			{"q part of a phone", "q=5550101", []string{"Grace Hopper"}, ""},
			{"q matching nothing", "q=Lovelace", nil, ""},
			{"q with a LIKE wildcard", "q=" + url.QueryEscape("%"), nil, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := e.admin("GET", "/v1/contacts?"+tt.query, nil)
				if tt.field != "" {
					wantAPIError(t, res, 422, "", tt.field)
					return
				}
				e.must(200, res)
				var names []string
				for _, c := range res.Data() {
					names = append(names, c["name"].(string))
				}
				if !slices.Equal(names, tt.want) {
					t.Errorf("names = %v, want %v", names, tt.want)
				}
			})
		}
	})

	t.Run("a contact made by an inbound text is found by phone", func(t *testing.T) {
		e.text("+14155550170", "hi, new here")
		res := e.admin("GET", "/v1/contacts?phone="+url.QueryEscape("(415) 555-0170"), nil)
		list := res.Data()
		if len(list) != 1 {
			t.Fatalf("contacts for the texting phone = %s", res.Body)
		}
		c := list[0]
		if c["name"] != "" || fmt.Sprint(c["phones"]) != "[+14155550170]" {
			t.Errorf("contact = %v, want unnamed with the phone", c)
		}
		conv := e.admin("GET", "/v1/conversations?contact_phone="+url.QueryEscape("+14155550170"), nil).Data()
		if len(conv) != 1 || conv[0]["contact"].(map[string]any)["id"] != c["id"] {
			t.Errorf("the thread's contact is not the one found: %v", conv)
		}
	})

	t.Run("pagination", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"name": fmt.Sprintf("Paged %d", i)}))
		}
		full := e.admin("GET", "/v1/contacts", nil).Data()
		if len(full) != 7 {
			t.Fatalf("contacts = %d, want 7", len(full))
		}
		pages := e.allPages(e.token, "/v1/contacts", 3)
		if got := pageSizes(pages); !slices.Equal(got, []int{3, 3, 1}) {
			t.Errorf("page sizes = %v, want [3 3 1]", got)
		}
		var rows []map[string]any
		for _, p := range pages {
			rows = append(rows, p.Data...)
		}
		if got, want := ids(rows), ids(full); !slices.Equal(got, want) {
			t.Errorf("paged ids = %v, want %v", got, want)
		}
		q := e.allPages(e.token, "/v1/contacts?q=paged", 2)
		if got := pageSizes(q); !slices.Equal(got, []int{2, 1}) {
			t.Errorf("page sizes of a search = %v, want [2 1]", got)
		}
		for _, bad := range []string{"limit=0", "limit=201", "cursor=garbage"} {
			wantAPIError(t, e.admin("GET", "/v1/contacts?"+bad, nil), 422, "", strings.SplitN(bad, "=", 2)[0])
		}
	})
}
