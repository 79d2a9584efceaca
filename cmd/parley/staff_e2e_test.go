package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/store/storetest"
)

// staffThread has from text the business number and returns the
// conversation the text landed in, as the admin sees it.
func (e *env) staffThread(from, body string) map[string]any {
	e.t.Helper()
	e.text(from, body)
	res := e.admin("GET", "/v1/conversations?contact_phone="+url.QueryEscape(from), nil)
	e.must(200, res)
	rows := res.Data()
	if len(rows) != 1 {
		e.t.Fatalf("conversations of %s = %s, want one", from, res.Body)
	}
	return rows[0]
}

// staffConv reads a conversation as the admin.
func (e *env) staffConv(id string) map[string]any {
	e.t.Helper()
	return e.must(200, e.admin("GET", "/v1/conversations/"+id, nil))
}

// staffEvents lists a conversation's activity log as the admin.
func (e *env) staffEvents(id string) []map[string]any {
	e.t.Helper()
	res := e.admin("GET", "/v1/conversations/"+id+"/events?limit=200", nil)
	e.must(200, res)
	return res.Data()
}

// staffMessages lists a conversation's thread as the admin.
func (e *env) staffMessages(id string) []map[string]any {
	e.t.Helper()
	res := e.admin("GET", "/v1/conversations/"+id+"/messages?limit=200", nil)
	e.must(200, res)
	return res.Data()
}

// staffNotifications lists the token owner's notifications.
func (e *env) staffNotifications(token string) []map[string]any {
	e.t.Helper()
	res := e.call(token, "GET", "/v1/notifications?limit=200", nil)
	e.must(200, res)
	return res.Data()
}

// staffAssign assigns a conversation as the admin (to nobody when to is "").
func (e *env) staffAssign(convID, to string) map[string]any {
	e.t.Helper()
	var assignee any
	if to != "" {
		assignee = to
	}
	return e.must(200, e.admin("POST", "/v1/conversations/"+convID+"/assign", map[string]any{"assignee_id": assignee}))
}

// staffSecondAccount creates the tenant "Acme" whose admin's token is returned.
func (e *env) staffSecondAccount() string {
	e.t.Helper()
	var out bytes.Buffer
	dbURL := e.main.Config.DatabaseURL
	getenv := func(k string) string {
		if k == "PARLEY_DATABASE_URL" {
			return dbURL
		}
		return ""
	}
	if err := run(context.Background(), []string{"account", "create", "--name", "Acme", "--token", "acme-admin-token-000000000000000000"}, getenv, &out, &out); err != nil {
		e.t.Fatalf("account create: %v\n%s", err, out.String())
	}
	return "acme-admin-token-000000000000000000"
}

// staffEventsOf keeps the events of one type.
func staffEventsOf(events []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, ev := range events {
		if ev["type"] == typ {
			out = append(out, ev)
		}
	}
	return out
}

// staffEventData returns an event's data object.
func staffEventData(ev map[string]any) map[string]any {
	d, _ := ev["data"].(map[string]any)
	return d
}

// staffMessageByID finds a message of a thread.
func staffMessageByID(msgs []map[string]any, id any) map[string]any {
	for _, m := range msgs {
		if m["id"] == id {
			return m
		}
	}
	return nil
}

func TestStaffReplies(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	adminID := e.must(200, e.admin("GET", "/v1/me", nil))["id"].(string)
	ann, annTok, _ := e.addStaff("ann@example.com", "agent", false)
	_, benTok, _ := e.addStaff("ben@example.com", "agent", false)
	_, vicTok, _ := e.addStaff("vic@example.com", "agent", true) // sees every conversation, not an admin

	const p1 = "+14155550201"
	conv := e.staffThread(p1, "Is my order ready?")
	id := conv["id"].(string)
	if conv["status"] != "new" || conv["assignee_id"] != nil {
		t.Fatalf("fresh conversation = %v", conv)
	}

	t.Run("an admin's reply on a new unassigned conversation", func(t *testing.T) {
		m := e.must(202, e.admin("POST", "/v1/conversations/"+id+"/messages", map[string]any{"body": "Yes, ready for pickup."}))
		for k, want := range map[string]any{"status": "queued", "direction": "outbound", "kind": "text", "body": "Yes, ready for pickup.",
			"author_id": adminID, "conversation_id": id, "segments": float64(1), "encoding": "GSM-7"} {
			if m[k] != want {
				t.Errorf("message %s = %v, want %v", k, m[k], want)
			}
		}
		got := e.staffConv(id)
		if got["status"] != "open" || got["assignee_id"] != adminID {
			t.Errorf("after the reply: status %v, assignee %v; want open, assigned to the admin", got["status"], got["assignee_id"])
		}
		events := e.staffEvents(id)
		assigned := staffEventsOf(events, "assignee_changed")
		if len(assigned) != 1 || assigned[0]["actor_type"] != "user" || assigned[0]["actor_id"] != adminID || staffEventData(assigned[0])["to"] != adminID {
			t.Errorf("assignee_changed events = %v; want one by the admin, to the admin", assigned)
		}
		opened := staffEventsOf(events, "status_changed")
		if len(opened) != 1 || opened[0]["actor_id"] != adminID || staffEventData(opened[0])["from"] != "new" || staffEventData(opened[0])["to"] != "open" {
			t.Errorf("status_changed events = %v; want new → open by the admin", opened)
		}

		e.eventually("the reply at the phone", func() bool { return slices.Equal(e.received(p1), []string{"Yes, ready for pickup."}) })
		if sent := e.carrier.MessagesTo(p1)[0]; sent.From != business {
			t.Errorf("sent from %q, want the conversation's business number %s", sent.From, business)
		}
		e.eventually("the delivery receipt on the reply", func() bool {
			got := staffMessageByID(e.staffMessages(id), m["id"])
			return got != nil && got["status"] == "delivered" && got["carrier_message_id"] != nil
		})
	})

	t.Run("media urls reach the carrier", func(t *testing.T) {
		media := []string{"https://cdn.example.com/receipt.jpg", "https://cdn.example.com/map.png"}
		m := e.must(202, e.admin("POST", "/v1/conversations/"+id+"/messages", map[string]any{"body": "Receipt and map attached", "media_urls": media}))
		if fmt.Sprint(m["media_urls"]) != fmt.Sprint(media) {
			t.Errorf("media_urls = %v, want %v", m["media_urls"], media)
		}
		e.eventually("the MMS at the phone", func() bool { return len(e.received(p1)) == 2 })
		if got := e.carrier.MessagesTo(p1)[1]; got.Body != "Receipt and map attached" || !slices.Equal(got.MediaURLs, media) {
			t.Errorf("carrier got body %q media %v; want the reply's %v", got.Body, got.MediaURLs, media)
		}
		// A picture alone, without words, is a fine reply too.
		e.must(202, e.admin("POST", "/v1/conversations/"+id+"/messages", map[string]any{"media_urls": media[:1]}))
		e.eventually("the media-only MMS at the phone", func() bool { return len(e.received(p1)) == 3 })
		if got := e.carrier.MessagesTo(p1)[2]; !slices.Equal(got.MediaURLs, media[:1]) {
			t.Errorf("carrier got media %v", got.MediaURLs)
		}
	})

	t.Run("an emoji makes it UCS-2", func(t *testing.T) {
		m := e.must(202, e.admin("POST", "/v1/conversations/"+id+"/messages", map[string]any{"body": "Thanks! 🙏"}))
		if m["encoding"] != "UCS-2" || m["segments"] != float64(1) {
			t.Errorf("encoding %v segments %v; want UCS-2, 1", m["encoding"], m["segments"])
		}
		m = e.must(202, e.admin("POST", "/v1/conversations/"+id+"/messages", map[string]any{"body": strings.Repeat("a", 1600)}))
		if m["encoding"] != "GSM-7" || m["segments"] != float64(11) {
			t.Errorf("1600 characters: encoding %v segments %v; want GSM-7, 11", m["encoding"], m["segments"])
		}
	})

	t.Run("an unassigned conversation goes to whoever replies first", func(t *testing.T) {
		c := e.staffThread("+14155550204", "anyone?")
		cid := c["id"].(string)
		// An agent without view-all does not even see unassigned work.
		wantAPIError(t, e.call(annTok, "POST", "/v1/conversations/"+cid+"/messages", map[string]any{"body": "me!"}), 403, "forbidden")
		m := e.must(202, e.call(vicTok, "POST", "/v1/conversations/"+cid+"/messages", map[string]any{"body": "Vic here."}))
		vicID := e.must(200, e.call(vicTok, "GET", "/v1/me", nil))["id"]
		if got := e.staffConv(cid); m["author_id"] != vicID || got["assignee_id"] != vicID || got["status"] != "open" {
			t.Errorf("after vic's reply: author %v, assignee %v, status %v; want vic, vic, open", m["author_id"], got["assignee_id"], got["status"])
		}
	})

	t.Run("validation", func(t *testing.T) {
		eleven := make([]string, 11)
		for i := range eleven {
			eleven[i] = fmt.Sprintf("https://cdn.example.com/%d.jpg", i)
		}
		tests := []struct {
			name  string
			body  any
			field string
		}{
			{"an empty body without media", map[string]any{"body": ""}, "body"},
			{"a body of spaces without media", map[string]any{"body": "   \n"}, "body"},
			{"no body and no media", map[string]any{}, "body"},
			{"an empty media list and no body", map[string]any{"body": "", "media_urls": []string{}}, "body"},
			{"1601 characters", map[string]any{"body": strings.Repeat("a", 1601)}, "body"},
			{"a body that is not a string", map[string]any{"body": 42}, "body"},
			{"11 media urls", map[string]any{"body": "pics", "media_urls": eleven}, "media_urls"},
			{"a media url that is not a URL", map[string]any{"body": "pic", "media_urls": []string{"not a url"}}, "media_urls"},
			{"a relative media url", map[string]any{"body": "pic", "media_urls": []string{"/receipt.jpg"}}, "media_urls"},
			{"a javascript: media url", map[string]any{"body": "pic", "media_urls": []string{"javascript:alert(1)"}}, "media_urls"},
			{"media_urls not an array", map[string]any{"body": "pic", "media_urls": "https://cdn.example.com/a.jpg"}, "media_urls"},
			{"an unknown field", map[string]any{"body": "hi", "to": "+14155550999"}, "to"},
		}
		before := len(e.staffMessages(id))
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantAPIError(t, e.admin("POST", "/v1/conversations/"+id+"/messages", tt.body), 422, "", tt.field)
			})
		}
		if n := len(e.staffMessages(id)); n != before {
			t.Errorf("refused replies added %d messages to the thread", n-before)
		}
	})

	t.Run("a reply to an opted-out phone", func(t *testing.T) {
		const p2 = "+14155550202"
		c := e.staffThread(p2, "hello")
		e.must(201, e.admin("POST", "/v1/optouts", map[string]any{"phone": p2}))
		wantAPIError(t, e.admin("POST", "/v1/conversations/"+c["id"].(string)+"/messages", map[string]any{"body": "Are you there?"}), 409, "contact_opted_out")
		got := e.staffConv(c["id"].(string))
		if got["status"] != "new" || got["assignee_id"] != nil {
			t.Errorf("a refused reply changed the conversation: %v", got)
		}
		if msgs := e.staffMessages(c["id"].(string)); len(msgs) != 1 {
			t.Errorf("thread has %d messages, want only the inbound one", len(msgs))
		}
		// Give the dispatcher every chance to send something.
		time.Sleep(500 * time.Millisecond)
		if got := e.received(p2); len(got) != 0 {
			t.Errorf("the opted-out phone received %q", got)
		}
	})

	t.Run("who may reply to an assigned conversation", func(t *testing.T) {
		const p3 = "+14155550203"
		c := e.staffThread(p3, "I need help")
		cid := c["id"].(string)
		e.staffAssign(cid, ann["id"].(string))
		before := len(e.staffMessages(cid))
		tests := []struct {
			name, token string
			status      int
		}{
			{"another agent", benTok, 403},
			{"a view-all agent who is not an admin", vicTok, 403},
			{"the assignee", annTok, 202},
			{"an admin steps in", e.token, 202},
		}
		sent := 0
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := e.call(tt.token, "POST", "/v1/conversations/"+cid+"/messages", map[string]any{"body": "reply from " + tt.name})
				if tt.status == 403 {
					wantAPIError(t, res, 403, "forbidden")
					return
				}
				e.must(tt.status, res)
				sent++
			})
		}
		if got := e.staffConv(cid); got["assignee_id"] != ann["id"] {
			t.Errorf("assignee after the admin's reply = %v, want ann still", got["assignee_id"])
		}
		if n := len(e.staffMessages(cid)); n != before+sent {
			t.Errorf("thread grew by %d, want %d", n-before, sent)
		}
		e.eventually("the allowed replies at the phone", func() bool { return len(e.received(p3)) == sent })
		time.Sleep(200 * time.Millisecond)
		for _, body := range e.received(p3) {
			if strings.Contains(body, "another agent") || strings.Contains(body, "view-all") {
				t.Errorf("a refused reply reached the phone: %q", body)
			}
		}
	})
}

func TestStaffMessagePreview(t *testing.T) {
	e := boot(t, "")
	_, agentTok, _ := e.addStaff("ann@example.com", "agent", false)
	tests := []struct {
		name       string
		body       string
		segments   float64
		encoding   string
		characters float64
	}{
		{"160 GSM-7 characters fit one part", strings.Repeat("a", 160), 1, "GSM-7", 160},
		{"161 need two", strings.Repeat("a", 161), 2, "GSM-7", 161},
		{"an accent and an emoji", "héllo 😀", 1, "UCS-2", 7},
		{"70 Cyrillic letters fit one part", strings.Repeat("ж", 70), 1, "UCS-2", 70},
		{"71 need two", strings.Repeat("ж", 71), 2, "UCS-2", 71},
		{"the euro sign takes two septets", strings.Repeat("€", 81), 2, "GSM-7", 81},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.must(200, e.call(agentTok, "POST", "/v1/messages/preview", map[string]any{"body": tt.body}))
			if got["segments"] != tt.segments || got["encoding"] != tt.encoding || got["characters"] != tt.characters {
				t.Errorf("preview = %v; want %v segments, %s, %v characters", got, tt.segments, tt.encoding, tt.characters)
			}
		})
	}
	for _, bad := range []struct {
		name string
		body any
	}{
		{"a missing body", map[string]any{}},
		{"a null body", map[string]any{"body": nil}},
		{"a body that is not a string", map[string]any{"body": 160}},
	} {
		t.Run(bad.name, func(t *testing.T) {
			wantAPIError(t, e.admin("POST", "/v1/messages/preview", bad.body), 422, "", "body")
		})
	}
	if n := e.carrier.Count(); n != 0 {
		t.Errorf("previews sent %d texts", n)
	}
}

func TestStaffNotes(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	adminID := e.must(200, e.admin("GET", "/v1/me", nil))["id"].(string)
	ann, annTok, _ := e.addStaff("ann@example.com", "agent", false)
	_, benTok, _ := e.addStaff("ben@example.com", "agent", false)
	const p = "+14155550301"
	c := e.staffThread(p, "My parcel is late")
	id := c["id"].(string)

	note := e.must(201, e.admin("POST", "/v1/conversations/"+id+"/notes", map[string]any{"body": "Checked with the courier: Tuesday."}))
	if note["kind"] != "note" || note["author_id"] != adminID || note["body"] != "Checked with the courier: Tuesday." {
		t.Errorf("note = %v", note)
	}
	if v, ok := note["status"]; !ok || v != nil {
		t.Errorf("note status = %v (present %v), want null: notes are never sent", v, ok)
	}

	t.Run("listed in the thread with its author", func(t *testing.T) {
		got := staffMessageByID(e.staffMessages(id), note["id"])
		if got == nil || got["kind"] != "note" || got["author_id"] != adminID || got["status"] != nil {
			t.Errorf("note in the thread = %v", got)
		}
	})

	t.Run("a note is not a reply", func(t *testing.T) {
		if got := e.staffConv(id); got["status"] != "new" || got["assignee_id"] != nil {
			t.Errorf("after a note: status %v assignee %v; want new and unassigned", got["status"], got["assignee_id"])
		}
	})

	t.Run("validation", func(t *testing.T) {
		for _, body := range []any{map[string]any{"body": ""}, map[string]any{"body": "  \t "}, map[string]any{}, map[string]any{"body": strings.Repeat("x", 17<<10)}} {
			wantAPIError(t, e.admin("POST", "/v1/conversations/"+id+"/notes", body), 422, "", "body")
		}
	})

	t.Run("only who may act on the conversation writes notes", func(t *testing.T) {
		e.staffAssign(id, ann["id"].(string))
		wantAPIError(t, e.call(benTok, "POST", "/v1/conversations/"+id+"/notes", map[string]any{"body": "ben was here"}), 403, "forbidden")
		n := e.must(201, e.call(annTok, "POST", "/v1/conversations/"+id+"/notes", map[string]any{"body": "ann: will call back"}))
		if n["author_id"] != ann["id"] {
			t.Errorf("ann's note author = %v", n["author_id"])
		}
		for _, m := range e.staffMessages(id) {
			if m["body"] == "ben was here" {
				t.Errorf("the refused note is in the thread")
			}
		}
	})

	t.Run("notes never reach the phone", func(t *testing.T) {
		e.must(202, e.call(annTok, "POST", "/v1/conversations/"+id+"/messages", map[string]any{"body": "Your parcel arrives Tuesday."}))
		e.eventually("the reply at the phone", func() bool { return len(e.received(p)) > 0 })
		time.Sleep(300 * time.Millisecond)
		if got := e.received(p); !slices.Equal(got, []string{"Your parcel arrives Tuesday."}) {
			t.Errorf("phone received %q; want only the reply", got)
		}
	})
}

func TestStaffLifecycle(t *testing.T) {
	clock := &testClock{t: time.Date(2030, 3, 4, 9, 0, 0, 0, time.UTC)}
	e := boot(t, "", withClock(clock))
	e.setupChannel(nil)
	adminID := e.must(200, e.admin("GET", "/v1/me", nil))["id"].(string)
	ann, annTok, _ := e.addStaff("ann@example.com", "agent", false)
	_, benTok, _ := e.addStaff("ben@example.com", "agent", false)
	annID := ann["id"].(string)
	const p = "+14155550401"
	id := e.staffThread(p, "Hello?")["id"].(string)
	e.staffAssign(id, annID)

	t.Run("status actions", func(t *testing.T) {
		steps := []struct{ action, from, to string }{
			{"resolve", "new", "resolved"},
			{"reopen", "resolved", "open"},
			{"pending", "open", "pending"},
			{"close", "pending", "closed"},
			{"reopen", "closed", "open"},
		}
		for _, s := range steps {
			t.Run(s.action+" from "+s.from, func(t *testing.T) {
				before := len(e.staffEvents(id))
				got := e.must(200, e.admin("POST", "/v1/conversations/"+id+"/"+s.action, nil))
				if got["status"] != s.to || got["id"] != id {
					t.Errorf("%s answered status %v, want %s", s.action, got["status"], s.to)
				}
				events := e.staffEvents(id)
				if len(events) != before+1 {
					t.Fatalf("%d new events, want 1", len(events)-before)
				}
				last := events[len(events)-1]
				if last["type"] != "status_changed" || last["actor_type"] != "user" || last["actor_id"] != adminID ||
					staffEventData(last)["from"] != s.from || staffEventData(last)["to"] != s.to {
					t.Errorf("event = %v; want status_changed %s → %s by the admin", last, s.from, s.to)
				}
				// Again: nothing changes, nothing is logged; "{}" is an empty body too.
				again := e.must(200, e.admin("POST", "/v1/conversations/"+id+"/"+s.action, map[string]any{}))
				if again["status"] != s.to {
					t.Errorf("repeated %s answered %v", s.action, again["status"])
				}
				if n := len(e.staffEvents(id)); n != before+1 {
					t.Errorf("repeating %s logged %d more events", s.action, n-before-1)
				}
				if got := e.staffConv(id); got["assignee_id"] != annID {
					t.Errorf("%s changed the assignee to %v", s.action, got["assignee_id"])
				}
			})
		}
	})

	t.Run("an agent acts only on their own conversations", func(t *testing.T) {
		for _, action := range []string{"resolve", "close", "pending"} {
			wantAPIError(t, e.call(benTok, "POST", "/v1/conversations/"+id+"/"+action, nil), 403, "forbidden")
		}
		if got := e.staffConv(id); got["status"] != "open" {
			t.Errorf("status after refused actions = %v", got["status"])
		}
		e.must(200, e.call(annTok, "POST", "/v1/conversations/"+id+"/pending", nil))
		got := e.must(200, e.call(annTok, "POST", "/v1/conversations/"+id+"/reopen", nil))
		if got["status"] != "open" {
			t.Errorf("ann's reopen = %v", got["status"])
		}
		events := e.staffEvents(id)
		if last := events[len(events)-1]; last["actor_id"] != annID {
			t.Errorf("last event actor = %v, want ann", last["actor_id"])
		}
	})

	t.Run("snooze validation", func(t *testing.T) {
		now := clock.Now()
		tests := []struct {
			name string
			body any
		}{
			{"until in the past", map[string]any{"until": now.Add(-time.Minute).Format(time.RFC3339)}},
			{"until now", map[string]any{"until": now.Format(time.RFC3339)}},
			{"no until", map[string]any{}},
			{"a null until", map[string]any{"until": nil}},
			{"until that is not a time", map[string]any{"until": "tomorrow"}},
			{"until as a Unix number", map[string]any{"until": now.Add(time.Hour).Unix()}},
			{"until without a zone", map[string]any{"until": now.Add(time.Hour).Format("2006-01-02T15:04:05")}},
		}
		before := len(e.staffEvents(id))
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantAPIError(t, e.admin("POST", "/v1/conversations/"+id+"/snooze", tt.body), 422, "", "until")
			})
		}
		if got := e.staffConv(id); got["status"] != "open" || got["snoozed_until"] != nil {
			t.Errorf("after refused snoozes: %v until %v", got["status"], got["snoozed_until"])
		}
		if n := len(e.staffEvents(id)); n != before {
			t.Errorf("refused snoozes logged %d events", n-before)
		}
	})

	t.Run("a snooze ends on time, once, by the system", func(t *testing.T) {
		until := clock.Now().Add(time.Hour)
		got := e.must(200, e.admin("POST", "/v1/conversations/"+id+"/snooze", map[string]any{"until": until.Format(time.RFC3339)}))
		if got["status"] != "snoozed" || !mustTime(t, "snoozed_until", got["snoozed_until"]).Equal(until) {
			t.Fatalf("snoozed conversation = %v until %v; want snoozed until %s", got["status"], got["snoozed_until"], until)
		}
		snoozes := len(staffEventsOf(e.staffEvents(id), "status_changed"))
		// The same instant written in another zone is the same snooze.
		same := until.In(time.FixedZone("CEST", 2*3600)).Format(time.RFC3339)
		again := e.must(200, e.admin("POST", "/v1/conversations/"+id+"/snooze", map[string]any{"until": same}))
		if !mustTime(t, "snoozed_until", again["snoozed_until"]).Equal(until) {
			t.Errorf("re-snooze answered until %v", again["snoozed_until"])
		}
		if n := len(staffEventsOf(e.staffEvents(id), "status_changed")); n != snoozes {
			t.Errorf("repeating the same snooze logged %d more events", n-snoozes)
		}
		// The log pages like every list, oldest first.
		var paged []string
		for _, pg := range e.allPages(e.token, "/v1/conversations/"+id+"/events", 2) {
			paged = append(paged, ids(pg.Data)...)
		}
		if all := ids(e.staffEvents(id)); !slices.Equal(paged, all) {
			t.Errorf("events paged by 2 = %v, want %v", paged, all)
		}

		// The scheduler asks the injected clock, not the wall clock.
		time.Sleep(1500 * time.Millisecond)
		if got := e.staffConv(id); got["status"] != "snoozed" {
			t.Fatalf("woke before its time: %v", got["status"])
		}
		clock.Advance(2 * time.Hour)
		start := time.Now()
		deadline := start.Add(5 * time.Second)
		for {
			got := e.staffConv(id)
			if got["status"] == "open" {
				if got["snoozed_until"] != nil || got["assignee_id"] != annID {
					t.Errorf("woken conversation: snoozed_until %v assignee %v; want none, ann kept", got["snoozed_until"], got["assignee_id"])
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still %v 5 s after its snooze ended", got["status"])
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("woken %v after the clock passed the snooze", time.Since(start).Round(time.Millisecond))
		time.Sleep(1200 * time.Millisecond) // another tick or two
		var ended []map[string]any
		for _, ev := range staffEventsOf(e.staffEvents(id), "status_changed") {
			if staffEventData(ev)["reason"] == "snooze_ended" {
				ended = append(ended, ev)
			}
		}
		if len(ended) != 1 || ended[0]["actor_type"] != "system" || ended[0]["actor_id"] != nil ||
			staffEventData(ended[0])["from"] != "snoozed" || staffEventData(ended[0])["to"] != "open" {
			t.Errorf("snooze_ended events = %v; want one snoozed → open by the system", ended)
		}
	})

	t.Run("a reopen or a text from the contact ends a snooze early", func(t *testing.T) {
		in := func(d time.Duration) map[string]any {
			return map[string]any{"until": clock.Now().Add(d).Format(time.RFC3339)}
		}
		e.must(200, e.call(annTok, "POST", "/v1/conversations/"+id+"/snooze", in(30*time.Minute)))
		got := e.must(200, e.call(annTok, "POST", "/v1/conversations/"+id+"/reopen", nil))
		if got["status"] != "open" || got["snoozed_until"] != nil {
			t.Errorf("after reopening a snoozed conversation: %v until %v", got["status"], got["snoozed_until"])
		}
		e.must(200, e.call(annTok, "POST", "/v1/conversations/"+id+"/snooze", in(time.Hour)))
		e.text(p, "Any update?")
		got = e.staffConv(id)
		if got["status"] != "open" || got["snoozed_until"] != nil || got["assignee_id"] != annID {
			t.Errorf("after an inbound text: %v until %v assignee %v; want open, no snooze, ann kept", got["status"], got["snoozed_until"], got["assignee_id"])
		}
		// The cancelled snoozes' times passing wake nothing.
		clock.Advance(2 * time.Hour)
		time.Sleep(1500 * time.Millisecond)
		n := 0
		for _, ev := range staffEventsOf(e.staffEvents(id), "status_changed") {
			if staffEventData(ev)["reason"] == "snooze_ended" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d snooze_ended events, want still 1", n)
		}
	})

	t.Run("a text on a closed conversation starts fresh", func(t *testing.T) {
		e.must(200, e.admin("POST", "/v1/conversations/"+id+"/close", nil))
		e.text(p, "Hello again, new question")
		got := e.staffConv(id)
		if got["status"] != "new" || got["assignee_id"] != nil {
			t.Errorf("after a text on closed: %v assignee %v; want new, unassigned", got["status"], got["assignee_id"])
		}
	})

	t.Run("repeating a snooze with sub-millisecond digits logs once", func(t *testing.T) {
		// RFC 3339 allows any number of fraction digits; times are kept to the millisecond.
		until := clock.Now().Add(time.Hour + 1500*time.Microsecond).Format(time.RFC3339Nano)
		before := len(e.staffEvents(id))
		first := e.must(200, e.admin("POST", "/v1/conversations/"+id+"/snooze", map[string]any{"until": until}))
		second := e.must(200, e.admin("POST", "/v1/conversations/"+id+"/snooze", map[string]any{"until": until}))
		if first["snoozed_until"] != second["snoozed_until"] {
			t.Errorf("snoozed_until moved from %v to %v", first["snoozed_until"], second["snoozed_until"])
		}
		if n := len(e.staffEvents(id)) - before; n != 1 {
			t.Errorf("two identical snoozes (until %s) logged %d events, want 1", until, n)
		}
	})
}

func TestStaffPriority(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	adminID := e.must(200, e.admin("GET", "/v1/me", nil))["id"].(string)
	ann, annTok, _ := e.addStaff("ann@example.com", "agent", false)
	_, benTok, _ := e.addStaff("ben@example.com", "agent", false)
	id := e.staffThread("+14155550501", "urgent!!")["id"].(string)
	e.staffAssign(id, ann["id"].(string))

	got := e.must(200, e.admin("PATCH", "/v1/conversations/"+id, map[string]any{"priority": "high"}))
	if got["priority"] != "high" {
		t.Errorf("priority = %v", got["priority"])
	}
	changes := staffEventsOf(e.staffEvents(id), "priority_changed")
	if len(changes) != 1 || changes[0]["actor_id"] != adminID || staffEventData(changes[0])["from"] != "none" || staffEventData(changes[0])["to"] != "high" {
		t.Errorf("priority_changed events = %v", changes)
	}
	e.must(200, e.admin("PATCH", "/v1/conversations/"+id, map[string]any{"priority": "high"}))
	if n := len(staffEventsOf(e.staffEvents(id), "priority_changed")); n != 1 {
		t.Errorf("repeating the priority logged again: %d events", n)
	}

	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"an unknown priority", map[string]any{"priority": "bogus"}, "priority"},
		{"an empty priority", map[string]any{"priority": ""}, "priority"},
		{"a number", map[string]any{"priority": 3}, "priority"},
		{"null (none clears it)", map[string]any{"priority": nil}, "priority"},
		{"null, in capitals", map[string]any{"Priority": nil}, "priority"},
		{"status is not patchable", map[string]any{"status": "resolved"}, "status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantAPIError(t, e.admin("PATCH", "/v1/conversations/"+id, tt.body), 422, "", tt.field)
		})
	}
	t.Run("another agent cannot", func(t *testing.T) {
		wantAPIError(t, e.call(benTok, "PATCH", "/v1/conversations/"+id, map[string]any{"priority": "low"}), 403, "forbidden")
	})
	t.Run("the assignee can", func(t *testing.T) {
		if got := e.must(200, e.call(annTok, "PATCH", "/v1/conversations/"+id, map[string]any{"priority": "urgent"})); got["priority"] != "urgent" {
			t.Errorf("priority = %v", got["priority"])
		}
	})
	if got := e.staffConv(id); got["priority"] != "urgent" || got["status"] != "new" {
		t.Errorf("conversation = %v %v", got["priority"], got["status"])
	}
}

func TestStaffAssignmentAndNotifications(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	adminID := e.must(200, e.admin("GET", "/v1/me", nil))["id"].(string)
	ann, annTok, _ := e.addStaff("ann@example.com", "agent", false)
	ben, benTok, _ := e.addStaff("ben@example.com", "agent", false)
	_, vicTok, _ := e.addStaff("vic@example.com", "agent", true)
	annID, benID := ann["id"].(string), ben["id"].(string)
	const p = "+14155550601"
	id := e.staffThread(p, "Can someone help?")["id"].(string)
	path := "/v1/conversations/" + id + "/assign"

	mine := func(token string) []string {
		res := e.call(token, "GET", "/v1/conversations?view=mine", nil)
		e.must(200, res)
		return ids(res.Data())
	}

	t.Run("an admin assigns to an agent, who is notified", func(t *testing.T) {
		wantAPIError(t, e.call(annTok, "GET", "/v1/conversations/"+id, nil), 403, "forbidden")
		got := e.must(200, e.admin("POST", path, map[string]any{"assignee_id": annID}))
		if got["assignee_id"] != annID {
			t.Fatalf("assignee = %v", got["assignee_id"])
		}
		ns := e.staffNotifications(annTok)
		if len(ns) != 1 || ns[0]["kind"] != "conversation_assigned" || ns[0]["conversation_id"] != id ||
			ns[0]["actor_id"] != adminID || ns[0]["read"] != false {
			t.Errorf("ann's notifications = %v", ns)
		}
		e.must(200, e.call(annTok, "GET", "/v1/conversations/"+id, nil))
		e.must(202, e.call(annTok, "POST", "/v1/conversations/"+id+"/messages", map[string]any{"body": "Hi, Ann here."}))
		if !slices.Contains(mine(annTok), id) {
			t.Errorf("ann's view=mine lacks the conversation")
		}
	})

	t.Run("an agent who does not own it cannot assign it", func(t *testing.T) {
		for _, to := range []any{benID, nil, annID} {
			wantAPIError(t, e.call(benTok, "POST", path, map[string]any{"assignee_id": to}), 403, "forbidden")
		}
		if got := e.staffConv(id); got["assignee_id"] != annID {
			t.Errorf("assignee = %v after refused assignments", got["assignee_id"])
		}
	})

	t.Run("the owner hands it to a colleague", func(t *testing.T) {
		got := e.must(200, e.call(annTok, "POST", path, map[string]any{"assignee_id": benID}))
		if got["assignee_id"] != benID {
			t.Fatalf("assignee = %v", got["assignee_id"])
		}
		if !slices.Contains(mine(benTok), id) || slices.Contains(mine(annTok), id) {
			t.Errorf("view=mine: ben %v, ann %v", mine(benTok), mine(annTok))
		}
		ns := e.staffNotifications(benTok)
		if len(ns) != 1 || ns[0]["kind"] != "conversation_assigned" || ns[0]["actor_id"] != annID {
			t.Errorf("ben's notifications = %v", ns)
		}
		// ann no longer sees it; assignment decides who may text the contact.
		wantAPIError(t, e.call(annTok, "GET", "/v1/conversations/"+id, nil), 403, "forbidden")
		wantAPIError(t, e.call(annTok, "POST", "/v1/conversations/"+id+"/messages", map[string]any{"body": "still me"}), 403, "forbidden")
		e.must(202, e.call(benTok, "POST", "/v1/conversations/"+id+"/messages", map[string]any{"body": "Ben taking over."}))
	})

	t.Run("bad assignees", func(t *testing.T) {
		acme := e.staffSecondAccount()
		acmeAdmin := e.must(200, e.call(acme, "GET", "/v1/me", nil))["id"].(string)
		tests := []struct {
			name string
			body any
		}{
			{"a user of another account", map[string]any{"assignee_id": acmeAdmin}},
			{"an unknown user", map[string]any{"assignee_id": "999999"}},
			{"not an id", map[string]any{"assignee_id": "ann"}},
			{"a number", map[string]any{"assignee_id": 5}},
			{"no assignee_id key", map[string]any{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantAPIError(t, e.admin("POST", path, tt.body), 422, "", "assignee_id")
			})
		}
		if got := e.staffConv(id); got["assignee_id"] != benID {
			t.Errorf("assignee = %v after refused assignments", got["assignee_id"])
		}
	})

	t.Run("a view-all agent assigns anyone", func(t *testing.T) {
		got := e.must(200, e.call(vicTok, "POST", path, map[string]any{"assignee_id": annID}))
		if got["assignee_id"] != annID {
			t.Errorf("assignee = %v", got["assignee_id"])
		}
	})

	t.Run("a text from the contact notifies the owner only", func(t *testing.T) {
		e.text(p, "Thanks, one more question")
		ns := e.staffNotifications(annTok)
		if len(ns) != 3 || ns[0]["kind"] != "inbound_message" || ns[0]["conversation_id"] != id || ns[0]["message_id"] == nil || ns[0]["actor_id"] != nil {
			t.Errorf("ann's notifications = %v; want the inbound text first", ns)
		}
		if n := len(e.staffNotifications(benTok)); n != 1 {
			t.Errorf("ben, no longer the owner, has %d notifications, want 1", n)
		}
		if n := len(e.staffNotifications(vicTok)); n != 0 {
			t.Errorf("vic, who assigned it, has %d notifications", n)
		}
	})

	t.Run("read notifications move after unread ones", func(t *testing.T) {
		before := e.staffNotifications(annTok) // inbound, assigned by vic, assigned by admin
		if len(before) != 3 {
			t.Fatalf("ann has %d notifications", len(before))
		}
		middle := before[1]["id"].(string)
		got := e.must(200, e.call(annTok, "POST", "/v1/notifications/"+middle+"/read", nil))
		if got["read"] != true || got["read_at"] == nil || got["id"] != middle {
			t.Errorf("marked notification = %v", got)
		}
		after := e.staffNotifications(annTok)
		want := []string{before[0]["id"].(string), before[2]["id"].(string), middle}
		if !slices.Equal(ids(after), want) {
			t.Errorf("order after reading = %v; want unread first %v", ids(after), want)
		}
		for i, n := range after {
			if (n["read"] == true) != (i == 2) {
				t.Errorf("notification %v read = %v", n["id"], n["read"])
			}
		}
		// Marking again is harmless and keeps the first read time.
		again := e.must(200, e.call(annTok, "POST", "/v1/notifications/"+middle+"/read", map[string]any{}))
		if again["read_at"] != got["read_at"] {
			t.Errorf("read_at moved from %v to %v", got["read_at"], again["read_at"])
		}
		// Pages of one walk the same order.
		var paged []string
		for _, pg := range e.allPages(annTok, "/v1/notifications", 1) {
			paged = append(paged, ids(pg.Data)...)
		}
		if !slices.Equal(paged, want) {
			t.Errorf("paged notifications = %v, want %v", paged, want)
		}
	})

	t.Run("someone else's notification is not found", func(t *testing.T) {
		bens := e.staffNotifications(benTok)[0]["id"].(string)
		for _, nid := range []string{bens, "999999", "abc"} {
			wantAPIError(t, e.call(annTok, "POST", "/v1/notifications/"+nid+"/read", nil), 404, "not_found")
		}
		if e.staffNotifications(benTok)[0]["read"] != false {
			t.Errorf("ben's notification was marked read by ann")
		}
	})

	t.Run("null unassigns", func(t *testing.T) {
		got := e.must(200, e.admin("POST", path, map[string]any{"assignee_id": nil}))
		if v, ok := got["assignee_id"]; !ok || v != nil {
			t.Errorf("assignee_id = %v, want null", v)
		}
		events := staffEventsOf(e.staffEvents(id), "assignee_changed")
		last := events[len(events)-1]
		if staffEventData(last)["from"] != annID || staffEventData(last)["to"] != nil || last["actor_id"] != adminID {
			t.Errorf("last assignee_changed = %v", last)
		}
		if slices.Contains(mine(annTok), id) {
			t.Errorf("ann still lists the unassigned conversation")
		}
		// Nobody owns it: a new text notifies nobody.
		e.text(p, "hello?")
		if n := len(e.staffNotifications(annTok)); n != 3 {
			t.Errorf("ann has %d notifications after a text on an unassigned conversation, want 3", n)
		}
	})

	t.Run("taking a conversation yourself notifies nobody", func(t *testing.T) {
		e.must(200, e.admin("POST", path, map[string]any{"assignee_id": adminID}))
		if n := len(e.staffNotifications(e.token)); n != 0 {
			t.Errorf("the admin got %d notifications for self-assignment", n)
		}
	})
}

func TestStaffContactPatch(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	jane := e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"name": "Jane", "phones": []string{"+14155550701"}}))
	e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"name": "John", "phones": []string{"+14155550702"}}))
	path := "/v1/contacts/" + jane["id"].(string)
	convID := e.staffThread("+14155550701", "hi, Jane here")["id"].(string)

	t.Run("name, type and attributes", func(t *testing.T) {
		got := e.must(200, e.admin("PATCH", path, map[string]any{"name": "Jane Roe", "type": "applicant", "attributes": map[string]any{"program": "nursing", "year": 2026}}))
		attrs, _ := got["attributes"].(map[string]any)
		if got["name"] != "Jane Roe" || got["type"] != "applicant" || attrs["program"] != "nursing" || attrs["year"] != float64(2026) {
			t.Errorf("patched contact = %v", got)
		}
		if fmt.Sprint(got["phones"]) != "[+14155550701]" {
			t.Errorf("phones changed to %v by a patch without phones", got["phones"])
		}
		stored := e.must(200, e.admin("GET", path, nil))
		if stored["name"] != "Jane Roe" || stored["type"] != "applicant" {
			t.Errorf("stored contact = %v", stored)
		}
		// The thread shows the new name.
		if c, _ := e.staffConv(convID)["contact"].(map[string]any); c["name"] != "Jane Roe" || c["id"] != jane["id"] {
			t.Errorf("conversation's contact = %v", c)
		}
		// Absent fields are left alone.
		got = e.must(200, e.admin("PATCH", path, map[string]any{"type": "student"}))
		if got["name"] != "Jane Roe" || got["type"] != "student" {
			t.Errorf("after a type-only patch = %v", got)
		}
	})

	t.Run("phones are replaced and normalised", func(t *testing.T) {
		got := e.must(200, e.admin("PATCH", path, map[string]any{"phones": []string{"(415) 555-0711", "+1 415 555 0701"}}))
		if fmt.Sprint(got["phones"]) != "[+14155550711 +14155550701]" {
			t.Errorf("phones = %v", got["phones"])
		}
		found := e.admin("GET", "/v1/contacts?phone="+url.QueryEscape("+14155550711"), nil).Data()
		if len(found) != 1 || found[0]["id"] != jane["id"] {
			t.Errorf("search by the new phone = %v", ids(found))
		}
		found = e.admin("GET", "/v1/contacts?q="+url.QueryEscape("Jane Roe"), nil).Data()
		if len(found) != 1 || found[0]["id"] != jane["id"] {
			t.Errorf("search by the new name = %v", ids(found))
		}
	})

	t.Run("a phone of another contact is a conflict and changes nothing", func(t *testing.T) {
		before := e.must(200, e.admin("GET", path, nil))
		res := e.admin("PATCH", path, map[string]any{"name": "Hijack", "phones": []string{"+14155550799", "415-555-0702"}})
		wantAPIError(t, res, 409, "phone_taken")
		after := e.must(200, e.admin("GET", path, nil))
		if fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("contact changed by a refused patch:\n got %v\nwant %v", after, before)
		}
		if found := e.admin("GET", "/v1/contacts?phone="+url.QueryEscape("+14155550799"), nil).Data(); len(found) != 0 {
			t.Errorf("the refused patch left +14155550799 on %v", ids(found))
		}
		if found := e.admin("GET", "/v1/contacts?phone="+url.QueryEscape("+14155550702"), nil).Data(); len(found) != 1 || found[0]["name"] != "John" {
			t.Errorf("+14155550702 belongs to %v, want John", found)
		}
	})

	t.Run("a phone moved to another contact takes its thread along", func(t *testing.T) {
		const walkIn = "+14155550720"
		c := e.staffThread(walkIn, "hi, it's me from my other phone")
		unnamed := c["contact"].(map[string]any)["id"].(string)
		// Staff free the number from the contact the first text created and give it to John.
		e.must(200, e.admin("PATCH", "/v1/contacts/"+unnamed, map[string]any{"phones": []string{}}))
		john := e.admin("GET", "/v1/contacts?phone="+url.QueryEscape("+14155550702"), nil).Data()[0]
		e.must(200, e.admin("PATCH", "/v1/contacts/"+john["id"].(string), map[string]any{"phones": []string{"+14155550702", walkIn}}))
		e.text(walkIn, "did you get my message?")
		if got, _ := e.staffConv(c["id"].(string))["contact"].(map[string]any); got["id"] != john["id"] || got["name"] != "John" {
			t.Errorf("the thread of %s shows contact %v; want John, who owns the number now", walkIn, got)
		}
		threads := e.admin("GET", "/v1/contacts/"+john["id"].(string)+"/conversations", nil).Data()
		if !slices.Contains(ids(threads), c["id"].(string)) {
			t.Errorf("John's conversations = %v; want the thread of %s, a number he uses", ids(threads), walkIn)
		}
	})

	t.Run("rejects", func(t *testing.T) {
		tests := []struct {
			name, path string
			body       any
			status     int
			field      string
		}{
			{"an invalid phone", path, map[string]any{"phones": []string{"hello"}}, 422, "phones"},
			{"a short phone", path, map[string]any{"phones": []string{"+1415555"}}, 422, "phones"},
			{"phones not an array", path, map[string]any{"phones": "+14155550701"}, 422, "phones"},
			{"an unknown field", path, map[string]any{"nickname": "JJ"}, 422, "nickname"},
			{"a name that is not a string", path, map[string]any{"name": 7}, 422, "name"},
			{"attributes not an object", path, map[string]any{"attributes": []string{"x"}}, 422, "attributes"},
			{"an unknown contact", "/v1/contacts/999999", map[string]any{"name": "Nobody"}, 404, ""},
			{"a malformed id", "/v1/contacts/jane", map[string]any{"name": "Nobody"}, 404, ""},
		}
		before := e.must(200, e.admin("GET", path, nil))
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.field == "" {
					wantAPIError(t, e.admin("PATCH", tt.path, tt.body), tt.status, "not_found")
					return
				}
				wantAPIError(t, e.admin("PATCH", tt.path, tt.body), tt.status, "", tt.field)
			})
		}
		if after := e.must(200, e.admin("GET", path, nil)); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("refused patches changed the contact: %v", after)
		}
	})
}

func TestStaffRoutesIsolationAndBadInput(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	ann, annTok, _ := e.addStaff("ann@example.com", "agent", false)
	_, benTok, _ := e.addStaff("ben@example.com", "agent", false)
	annID := ann["id"].(string)
	conv := e.staffThread("+14155550801", "hello")
	id := conv["id"].(string)
	contactID := conv["contact"].(map[string]any)["id"].(string)
	e.staffAssign(id, annID)
	notificationID := e.staffNotifications(annTok)[0]["id"].(string)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)

	type route struct {
		method, path string
		body         any // a valid body
	}
	convRoutes := func(id string) []route {
		return []route{
			{"POST", "/v1/conversations/" + id + "/messages", map[string]any{"body": "hi"}},
			{"POST", "/v1/conversations/" + id + "/notes", map[string]any{"body": "note"}},
			{"POST", "/v1/conversations/" + id + "/resolve", nil},
			{"POST", "/v1/conversations/" + id + "/reopen", nil},
			{"POST", "/v1/conversations/" + id + "/close", nil},
			{"POST", "/v1/conversations/" + id + "/pending", nil},
			{"POST", "/v1/conversations/" + id + "/snooze", map[string]any{"until": future}},
			{"POST", "/v1/conversations/" + id + "/assign", map[string]any{"assignee_id": nil}},
			{"PATCH", "/v1/conversations/" + id, map[string]any{"priority": "high"}},
			{"PATCH", "/v1/conversations/" + id, map[string]any{}},
			{"GET", "/v1/conversations/" + id + "/events", nil},
		}
	}
	otherRoutes := []route{
		{"POST", "/v1/notifications/" + notificationID + "/read", nil},
		{"PATCH", "/v1/contacts/" + contactID, map[string]any{"name": "Stolen"}},
	}

	snapshot := func() string {
		return fmt.Sprint(e.staffConv(id), len(e.staffMessages(id)), len(e.staffEvents(id)),
			e.must(200, e.admin("GET", "/v1/contacts/"+contactID, nil)), e.staffNotifications(annTok))
	}
	before := snapshot()

	t.Run("another account's ids are 404", func(t *testing.T) {
		acme := e.staffSecondAccount()
		for _, r := range append(convRoutes(id), otherRoutes...) {
			t.Run(r.method+" "+r.path, func(t *testing.T) {
				wantAPIError(t, e.call(acme, r.method, r.path, r.body), 404, "not_found")
			})
		}
		if n := len(e.staffNotifications(acme)); n != 0 {
			t.Errorf("acme sees %d notifications", n)
		}
		if after := snapshot(); after != before {
			t.Errorf("acme's requests changed the default account:\n got %s\nwant %s", after, before)
		}
	})

	t.Run("unknown ids are 404", func(t *testing.T) {
		for _, bad := range []string{"999999", "abc", "0", "-1", "99999999999999999999"} {
			for _, r := range convRoutes(bad) {
				if res := e.admin(r.method, r.path, r.body); res.Status != 404 {
					t.Errorf("%s %s = %d, want 404: %s", r.method, r.path, res.Status, res.Body)
				}
			}
			if res := e.call(annTok, "POST", "/v1/notifications/"+bad+"/read", nil); res.Status != 404 {
				t.Errorf("read notification %s = %d, want 404", bad, res.Status)
			}
		}
	})

	t.Run("an agent acting on a colleague's conversation is 403", func(t *testing.T) {
		for _, r := range convRoutes(id) {
			t.Run(r.method+" "+r.path, func(t *testing.T) {
				wantAPIError(t, e.call(benTok, r.method, r.path, r.body), 403, "forbidden")
			})
		}
		// Even assigning it to themself.
		wantAPIError(t, e.call(benTok, "POST", "/v1/conversations/"+id+"/assign", map[string]any{"assignee_id": e.staffConv(id)["assignee_id"]}), 403, "forbidden")
		if after := snapshot(); after != before {
			t.Errorf("ben's refused requests changed something:\n got %s\nwant %s", after, before)
		}
	})

	t.Run("bad bodies on every new write route", func(t *testing.T) {
		huge := append([]byte(`{"body":"`), bytes.Repeat([]byte("a"), 1<<20+16)...)
		huge = append(huge, `"}`...)
		bodies := []struct {
			name   string
			body   []byte
			status int
			code   string
			field  string
		}{
			{"malformed JSON", []byte(`{"body":`), 400, "malformed", ""},
			{"not JSON", []byte(`body=hi`), 400, "malformed", ""},
			{"two objects", []byte(`{} {}`), 400, "malformed", ""},
			{"a JSON array", []byte(`[]`), 400, "malformed", ""},
			{"a JSON string", []byte(`"hi"`), 400, "malformed", ""},
			{"an unknown field", []byte(`{"zz_unknown_field":1}`), 422, "", "zz_unknown_field"},
			{"over 1 MiB", huge, 413, "too_large", ""},
		}
		writes := []route{{"POST", "/v1/messages/preview", nil}}
		for _, r := range append(convRoutes(id), otherRoutes...) {
			if r.method != "GET" && !slices.ContainsFunc(writes, func(w route) bool { return w.method == r.method && w.path == r.path }) {
				writes = append(writes, r)
			}
		}
		for _, r := range writes {
			t.Run(r.method+" "+r.path, func(t *testing.T) {
				for _, b := range bodies {
					t.Run(b.name, func(t *testing.T) {
						// The notification is ann's: she reads it.
						auth := "Bearer " + e.token
						if strings.HasPrefix(r.path, "/v1/notifications/") {
							auth = "Bearer " + annTok
						}
						res := e.rawCall(r.method, r.path, auth, b.body)
						if res.Status >= 500 {
							t.Fatalf("status = %d: %s", res.Status, res.Body)
						}
						if b.field != "" {
							wantAPIError(t, res, b.status, b.code, b.field)
						} else {
							wantAPIError(t, res, b.status, b.code)
						}
					})
				}
			})
		}
		if after := snapshot(); after != before {
			t.Errorf("refused bodies changed something:\n got %s\nwant %s", after, before)
		}
		if n := e.carrier.Count(); n != 0 {
			t.Errorf("refused bodies sent %d texts", n)
		}
	})
}

// Several instances share one PostgreSQL; each ticks its snooze scheduler
// every second. A snoozed conversation must wake once, not once per
// instance.
func TestStaffSnoozeWakesOnceAcrossInstances(t *testing.T) {
	dbURL := storetest.URL(t, "postgres")
	clock := &testClock{t: time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)}
	e1 := boot(t, dbURL, withClock(clock))
	e2 := boot(t, dbURL, withClock(clock))
	e3 := boot(t, dbURL, withClock(clock))
	e1.setupChannel(nil)
	var convIDs []string
	for i := range 12 {
		c := e1.staffThread(fmt.Sprintf("+1415555%04d", 900+i), "hi")
		convIDs = append(convIDs, c["id"].(string))
	}
	until := clock.Now().Add(time.Minute).Format(time.RFC3339)
	for i, id := range convIDs {
		inst := []*env{e1, e2, e3}[i%3]
		if got := inst.must(200, inst.admin("POST", "/v1/conversations/"+id+"/snooze", map[string]any{"until": until})); got["status"] != "snoozed" {
			t.Fatalf("snooze = %v", got["status"])
		}
	}
	clock.Advance(2 * time.Minute)
	e2.eventually("every conversation awake", func() bool {
		res := e2.admin("GET", "/v1/conversations?status=snoozed", nil)
		return res.Status == 200 && len(res.Data()) == 0
	})
	time.Sleep(2500 * time.Millisecond) // every instance has ticked again
	for _, id := range convIDs {
		n := 0
		for _, ev := range staffEventsOf(e3.staffEvents(id), "status_changed") {
			if staffEventData(ev)["reason"] == "snooze_ended" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("conversation %s: %d snooze_ended events, want 1", id, n)
		}
		if got := e1.staffConv(id); got["status"] != "open" {
			t.Errorf("conversation %s is %v", id, got["status"])
		}
	}
}

// PostgreSQL refuses some text SQLite stores (a NUL byte in TEXT, a \u0000
// escape in JSONB). Input like that is the client's mistake: 422, never 500.
func TestStaffOddInputOnPostgres(t *testing.T) {
	e := boot(t, storetest.URL(t, "postgres"))
	e.setupChannel(nil)
	conv := e.staffThread("+14155550901", "hello")
	id := conv["id"].(string)
	contactPath := "/v1/contacts/" + conv["contact"].(map[string]any)["id"].(string)
	before := e.must(200, e.admin("GET", contactPath, nil))
	tests := []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"a NUL in a reply", "POST", "/v1/conversations/" + id + "/messages", map[string]any{"body": "a\x00b"}, "body"},
		{"a NUL in a note", "POST", "/v1/conversations/" + id + "/notes", map[string]any{"body": "a\x00b"}, "body"},
		{"a NUL in a contact's name", "PATCH", contactPath, map[string]any{"name": "Jane\x00Doe"}, "name"},
		{"a NUL in a contact's type", "PATCH", contactPath, map[string]any{"type": "app\x00licant"}, "type"},
		{"a NUL in a contact attribute", "PATCH", contactPath, map[string]any{"attributes": map[string]any{"note": "a\x00b"}}, "attributes"},
		{"a NUL in an attribute name", "PATCH", contactPath, map[string]any{"attributes": map[string]any{"a\x00b": "x"}}, "attributes"},
		{"a NUL in a contact search", "GET", "/v1/contacts?q=a%00b", nil, "q"},
		{"a NUL in a report's filter", "GET", "/v1/reports/outbound?campaign_name=a%00", nil, "campaign_name"},
		{"a NUL in a tag's name", "POST", "/v1/tags", map[string]any{"name": "So\x00ld", "type": "sale"}, "name"},
		{"a NUL in an inbox's name", "POST", "/v1/inboxes", map[string]any{"name": "Sup\x00port", "kind": "support"}, "name"},
		{"a NUL in a user's name", "POST", "/v1/users", map[string]any{"email": "nul@example.com", "name": "A\x00da", "role": "agent"}, "name"},
		{"a NUL in the help text", "PATCH", "/v1/settings/conversations", map[string]any{"help_text": "Call\x00us"}, "help_text"},
		{"a NUL in a webhook's description", "POST", "/v1/webhook-endpoints", map[string]any{"url": "https://example.com/hook",
			"events": []string{"message.created"}, "description": "C\x00RM"}, "description"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantAPIError(t, e.admin(tt.method, tt.path, tt.body), 422, "", tt.field)
		})
	}
	if after := e.must(200, e.admin("GET", contactPath, nil)); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("contact changed: %v", after)
	}
}
