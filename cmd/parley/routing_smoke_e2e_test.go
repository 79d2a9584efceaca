package main

import (
	"fmt"
	"testing"
)

// TestRoundRobinAssignsNewThreads is the shortest path through
// auto-assignment: switch it on, a default round-robin table over two
// agents, four first texts: two each, recorded as events, and the contact
// remembers its counselor.
func TestRoundRobinAssignsNewThreads(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	a, _, _ := e.addStaff("a@example.com", "agent", false)
	b, _, _ := e.addStaff("b@example.com", "agent", false)
	table := e.must(201, e.admin("POST", "/v1/routing-tables", map[string]any{"name": "Everyone", "default": true,
		"entries": []map[string]any{{"conditions": map[string]any{}, "user_ids": []any{a["id"], b["id"]}, "strategy": "round_robin"}}}))
	e.must(201, e.admin("POST", "/v1/contact-types", map[string]any{"name": "applicant", "relationship": "counselor", "routing_table_id": table["id"]}))

	e.text("+14155550301", "before the switch is on")
	e.must(200, e.admin("PATCH", "/v1/settings/conversations", map[string]any{"allow_auto_assignment": true}))
	for i := 2; i <= 5; i++ {
		e.text(fmt.Sprintf("+141555503%02d", i), "hello")
	}
	e.eventually("every conversation assigned", func() bool {
		return len(e.must(200, e.admin("GET", "/v1/conversations?view=unassigned", nil))["data"].([]any)) == 0
	})
	counts := map[any]int{}
	for _, c := range e.must(200, e.admin("GET", "/v1/conversations", nil))["data"].([]any) {
		counts[c.(map[string]any)["assignee_id"]]++
	}
	if counts[a["id"]] < 2 || counts[b["id"]] < 2 || counts[a["id"]]+counts[b["id"]] != 5 {
		t.Errorf("assignments = %v, want them shared round-robin", counts)
	}
	conv := e.must(200, e.admin("GET", "/v1/conversations?contact_phone=%2B14155550302", nil))["data"].([]any)[0].(map[string]any)
	events := e.must(200, e.admin("GET", "/v1/conversations/"+conv["id"].(string)+"/events", nil))["data"].([]any)
	last := events[len(events)-1].(map[string]any)
	data := last["data"].(map[string]any)
	if last["type"] != "assignee_changed" || data["strategy"] != "round_robin" || data["table"] != "Everyone" || data["reason"] != "auto_assigned" {
		t.Errorf("assignment event = %v", last)
	}
	sim := e.must(200, e.admin("POST", "/v1/routing-tables/"+table["id"].(string)+"/simulate", map[string]any{"contact_id": conv["contact"].(map[string]any)["id"]}))
	if sim["user_id"] == nil || sim["reason"] == "" {
		t.Errorf("simulate = %v", sim)
	}
}
