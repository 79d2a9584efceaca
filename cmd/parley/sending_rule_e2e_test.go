package main

import (
	"fmt"
	"net/url"
	"testing"
	"time"
)

// conversationOf returns the conversation of a phone, as the admin sees it.
func (e *env) conversationOf(phone string) map[string]any {
	e.t.Helper()
	convs := e.must(200, e.admin("GET", "/v1/conversations?contact_phone="+url.QueryEscape(phone), nil))["data"].([]any)
	if len(convs) != 1 {
		e.t.Fatalf("%s has %d conversations; want 1", phone, len(convs))
	}
	return convs[0].(map[string]any)
}

// An agent who may not reply into a conversation may not text into it by
// a quick message either: skipped with the reason, the conversation as it was.
func TestQuickMessageByAnAgentFollowsTheReplyRule(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(nil)
	ann, _, _ := e.addStaff("ann@example.com", "agent", false)
	_, benToken, _ := e.addStaff("ben@example.com", "agent", false)
	const unassigned, anns, fresh = "+14155550601", "+14155550602", "+14155550603"
	e.text(unassigned, "Is anyone there?")
	e.text(anns, "About my order")
	e.must(200, e.admin("POST", "/v1/conversations/"+e.conversationOf(anns)["id"].(string)+"/assign", map[string]any{"assignee_id": ann["id"]}))
	before := map[string]map[string]any{unassigned: e.conversationOf(unassigned), anns: e.conversationOf(anns)}
	beforeEvents := map[string]int{}
	for phone, c := range before {
		beforeEvents[phone] = len(e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/events", c["id"]), nil))["data"].([]any))
	}

	// The reply is refused as before: the quick message must match it.
	wantAPIError(t, e.call(benToken, "POST", fmt.Sprintf("/v1/conversations/%s/messages", before[unassigned]["id"]), map[string]any{"body": "Hi"}), 403, "")

	res := e.must(202, e.call(benToken, "POST", "/v1/quick-messages", map[string]any{"channel_id": ch["id"], "body": "Hello from Ben",
		"to": []string{unassigned, anns, fresh}}))
	skipped := map[string]string{}
	for _, s := range res["skipped"].([]any) {
		s := s.(map[string]any)
		skipped[s["to"].(string)] = s["reason"].(string)
	}
	if len(skipped) != 2 || skipped[unassigned] != "not_assigned_to_you" || skipped[anns] != "assigned_to_someone_else" {
		t.Errorf("skipped = %v; want the unassigned conversation not_assigned_to_you and Ann's assigned_to_someone_else", skipped)
	}
	sent := res["messages"].([]any)
	if len(sent) != 1 || sent[0].(map[string]any)["to"] != fresh {
		t.Fatalf("sent = %v; want only the phone with no conversation yet", sent)
	}
	e.eventually("the text at the new phone", func() bool { return len(e.received(fresh)) == 1 })
	if c := e.conversationOf(fresh); c["assignee_id"] == nil || c["status"] != "pending" {
		t.Errorf("the new conversation = %v; want pending, Ben's", c)
	}
	for phone, was := range before {
		now := e.conversationOf(phone)
		if now["assignee_id"] != was["assignee_id"] || now["status"] != was["status"] || now["updated_at"] != was["updated_at"] {
			t.Errorf("%s's conversation changed: %v -> %v", phone, was, now)
		}
		events := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/events", was["id"]), nil))["data"].([]any)
		if len(events) != beforeEvents[phone] {
			t.Errorf("%s's conversation got %d events", phone, len(events)-beforeEvents[phone])
		}
		msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", was["id"]), nil))["data"].([]any)
		if len(msgs) != 1 {
			t.Errorf("%s's thread has %d messages; want only the contact's", phone, len(msgs))
		}
		if got := e.received(phone); len(got) != 0 {
			t.Errorf("%s received %q", phone, got)
		}
	}
	// Ben still cannot read the unassigned conversation's history.
	wantAPIError(t, e.call(benToken, "GET", fmt.Sprintf("/v1/conversations/%s/messages", before[unassigned]["id"]), nil), 403, "")
}

// Campaigns text into everyone's conversations: only admins and users who
// see all conversations create and start them.
func TestOnlyViewAllUsersRunCampaigns(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(nil)
	_, agentToken, _ := e.addStaff("agent@example.com", "agent", false)
	_, viewAllToken, _ := e.addStaff("lead@example.com", "agent", true)
	body := map[string]any{"name": "Spring sale", "channel_id": ch["id"], "body": "Sale!", "audience": map[string]any{"phones": []string{"+14155550611"}}}

	wantAPIError(t, e.call(agentToken, "POST", "/v1/campaigns", body), 403, "forbidden")
	draft := e.must(201, e.admin("POST", "/v1/campaigns", body))
	id := draft["id"].(string)
	wantAPIError(t, e.call(agentToken, "POST", "/v1/campaigns/"+id+"/start", nil), 403, "forbidden")
	if c := e.campaign(id); c["status"] != "draft" {
		t.Errorf("after the agent's start: %v; want still a draft", c["status"])
	}
	if list := e.must(200, e.admin("GET", "/v1/campaigns", nil))["data"].([]any); len(list) != 1 {
		t.Errorf("%d campaigns; the agent's refused one must not exist", len(list))
	}

	e.must(201, e.call(viewAllToken, "POST", "/v1/campaigns", body))
	e.must(200, e.call(viewAllToken, "POST", "/v1/campaigns/"+id+"/start", nil))
	e.eventually("the campaign text", func() bool { return len(e.received("+14155550611")) == 1 })
	if got := e.carrier.Count(); got != 1 {
		t.Errorf("%d texts sent; want only the started campaign's", got)
	}
}

// An agent may not stop an admin's campaign either: pausing and
// cancelling decide what contacts get as much as starting does.
func TestOnlyViewAllUsersPauseAndCancelCampaigns(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(nil)
	_, agentToken, _ := e.addStaff("agent@example.com", "agent", false)
	_, viewAllToken, _ := e.addStaff("lead@example.com", "agent", true)
	sendAt := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	body := map[string]any{"name": "Spring sale", "channel_id": ch["id"], "body": "Sale!", "send_at": sendAt,
		"audience": map[string]any{"phones": []string{"+14155550612"}}}
	id := e.must(201, e.admin("POST", "/v1/campaigns", body))["id"].(string)
	e.must(200, e.admin("POST", "/v1/campaigns/"+id+"/start", nil))

	for _, action := range []string{"pause", "cancel"} {
		wantAPIError(t, e.call(agentToken, "POST", "/v1/campaigns/"+id+"/"+action, nil), 403, "forbidden")
		if c := e.campaign(id); c["status"] != "scheduled" {
			t.Fatalf("after the agent's %s: %v; want still scheduled", action, c["status"])
		}
	}
	e.must(200, e.call(viewAllToken, "POST", "/v1/campaigns/"+id+"/pause", nil))
	wantAPIError(t, e.call(agentToken, "POST", "/v1/campaigns/"+id+"/resume", nil), 403, "forbidden")
	wantAPIError(t, e.call(agentToken, "POST", "/v1/campaigns/"+id+"/cancel", nil), 403, "forbidden")
	if c := e.campaign(id); c["status"] != "paused" {
		t.Fatalf("after the agent's resume and cancel: %v; want still paused", c["status"])
	}
	if c := e.must(200, e.call(viewAllToken, "POST", "/v1/campaigns/"+id+"/cancel", nil)); c["status"] != "cancelled" {
		t.Errorf("after the view-all user's cancel: %v", c["status"])
	}
}
