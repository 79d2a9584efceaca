package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestQuickMessages(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(nil)
	agent, agentToken, _ := e.addStaff("agent@example.com", "agent", false)
	e.must(201, e.admin("POST", "/v1/optouts", map[string]any{"phone": "+14155550403"}))

	res := e.must(202, e.call(agentToken, "POST", "/v1/quick-messages", map[string]any{
		"channel_id": ch["id"], "body": "Your order is ready for pickup.",
		"to": []string{"+14155550401", "(415) 555-0402", "+14155550401", "not a number", "+14155550403"},
	}))
	sent := res["messages"].([]any)
	if len(sent) != 2 {
		t.Fatalf("queued %d texts, want 2 (a repeated number is texted once): %v", len(sent), res)
	}
	skipped := map[string]string{}
	for _, s := range res["skipped"].([]any) {
		m := s.(map[string]any)
		skipped[m["to"].(string)] = m["reason"].(string)
	}
	if skipped["not a number"] != "invalid_number" || skipped["+14155550403"] != "opted_out" || len(skipped) != 2 {
		t.Errorf("skipped = %v", skipped)
	}
	for _, phone := range []string{"+14155550401", "+14155550402"} {
		e.eventually("the text at "+phone, func() bool { return len(e.received(phone)) == 1 })
		conv := e.must(200, e.admin("GET", "/v1/conversations?contact_phone="+url.QueryEscape(phone), nil))["data"].([]any)[0].(map[string]any)
		if conv["status"] != "pending" || conv["assignee_id"] != agent["id"] {
			t.Errorf("new conversation for %s = status %v assignee %v; want pending, the sender", phone, conv["status"], conv["assignee_id"])
		}
	}
	if got := e.received("+14155550403"); len(got) != 0 {
		t.Errorf("an opted-out phone received %q", got)
	}

	// The customer answers: the thread reads in context and opens.
	e.text("+14155550401", "Great, coming at 5")
	conv := e.must(200, e.admin("GET", "/v1/conversations?contact_phone=%2B14155550401", nil))["data"].([]any)[0].(map[string]any)
	if conv["status"] != "open" || conv["assignee_id"] != agent["id"] {
		t.Errorf("after the answer: %v / %v, want open and still the sender's", conv["status"], conv["assignee_id"])
	}
	msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", conv["id"]), nil))["data"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["direction"] != "outbound" || msgs[0].(map[string]any)["author_id"] != agent["id"] {
		t.Errorf("thread = %v", msgs)
	}
}

func TestQuickMessageToContactsAndOthersConversations(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(nil)
	a, aToken, _ := e.addStaff("a@example.com", "agent", false)
	_, bToken, _ := e.addStaff("b@example.com", "agent", false)
	withPhone := e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"name": "Ada", "phones": []string{"+14155550411", "+14155550412"}}))
	noPhone := e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"name": "Paper only"}))

	// The body's fields are the recipient's, as a campaign's are.
	res := e.must(202, e.call(aToken, "POST", "/v1/quick-messages", map[string]any{"channel_id": ch["id"], "body": "Hello {{first_name|there}}",
		"contact_ids": []any{withPhone["id"], noPhone["id"]}, "to": []string{"+14155550419"}}))
	if sent := res["messages"].([]any); len(sent) != 2 || sent[1].(map[string]any)["to"] != "+14155550411" {
		t.Errorf("contact texted on %v, want its first phone", sent)
	}
	e.eventually("the contact's text", func() bool { return len(e.received("+14155550411")) == 1 })
	if got := e.received("+14155550411")[0]; got != "Hello Ada" {
		t.Errorf("the contact received %q, want its name filled in", got)
	}
	e.eventually("the new number's text", func() bool { return len(e.received("+14155550419")) == 1 })
	if got := e.received("+14155550419")[0]; got != "Hello there" {
		t.Errorf("a number without a name received %q, want the fallback", got)
	}
	if sk := res["skipped"].([]any); len(sk) != 1 || sk[0].(map[string]any)["reason"] != "no_phone" {
		t.Errorf("skipped = %v", sk)
	}

	// B may not text into A's conversation; an admin may, and it stays A's.
	res = e.must(202, e.call(bToken, "POST", "/v1/quick-messages", map[string]any{"channel_id": ch["id"], "body": "Hi", "to": []string{"+14155550411"}}))
	if sk := res["skipped"].([]any); len(sk) != 1 || sk[0].(map[string]any)["reason"] != "assigned_to_someone_else" {
		t.Errorf("another agent's quick message: %v", res)
	}
	e.must(202, e.admin("POST", "/v1/quick-messages", map[string]any{"channel_id": ch["id"], "body": "Hi from the office", "to": []string{"+14155550411"}}))
	conv := e.must(200, e.admin("GET", "/v1/conversations?contact_phone=%2B14155550411", nil))["data"].([]any)[0].(map[string]any)
	if conv["assignee_id"] != a["id"] {
		t.Errorf("assignee = %v, want still A", conv["assignee_id"])
	}
	e.eventually("both texts at the phone", func() bool { return len(e.received("+14155550411")) == 2 })
}

func TestQuickMessageValidation(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(nil)
	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprintf("+1628%07d", 2000000+i)
	}
	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"no channel", map[string]any{"body": "x", "to": []string{"+14155550401"}}, "channel_id"},
		{"unknown channel", map[string]any{"channel_id": "999", "body": "x", "to": []string{"+14155550401"}}, "channel_id"},
		{"no body", map[string]any{"channel_id": ch["id"], "body": " ", "to": []string{"+14155550401"}}, "body"},
		{"too long", map[string]any{"channel_id": ch["id"], "body": strings.Repeat("a", 1601), "to": []string{"+14155550401"}}, "body"},
		{"nobody", map[string]any{"channel_id": ch["id"], "body": "x"}, "to"},
		{"unknown contact", map[string]any{"channel_id": ch["id"], "body": "x", "contact_ids": []string{"999"}}, "contact_ids"},
		{"a numeric id", map[string]any{"channel_id": 1, "body": "x", "to": []string{"+14155550401"}}, "channel_id"},
		{"more than a quick message", map[string]any{"channel_id": ch["id"], "body": "x", "to": many}, "to"},
		{"unknown field", map[string]any{"channel_id": ch["id"], "body": "x", "to": []string{"+14155550401"}, "send_at": "now"}, "send_at"},
		{"unknown template field", map[string]any{"channel_id": ch["id"], "body": "Hi {{firstname}}", "to": []string{"+14155550401"}}, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantAPIError(t, e.admin("POST", "/v1/quick-messages", tt.body), 422, "", tt.field)
		})
	}
	r := e.admin("POST", "/v1/quick-messages", map[string]any{"channel_id": ch["id"], "body": "Hi {{firstname}}", "to": []string{"+14155550401"}})
	if !strings.Contains(string(r.Body), "{{firstname}}") {
		t.Errorf("an unknown template field: %s, want the field named", r.Body)
	}
	time.Sleep(200 * time.Millisecond)
	if got := e.carrier.Count(); got != 0 {
		t.Errorf("%d texts sent by rejected quick messages", got)
	}
	if convs := e.must(200, e.admin("GET", "/v1/conversations", nil))["data"].([]any); len(convs) != 0 {
		t.Errorf("rejected quick messages left %d conversations", len(convs))
	}
	if r := e.admin("POST", "/v1/quick-messages", "{"); r.Status != 400 {
		t.Errorf("malformed JSON: %d", r.Status)
	}
}
