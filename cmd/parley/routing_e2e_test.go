package main

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
	"github.com/parleyhq/parley/store/storetest"
)

// Auto-assignment through routing tables, end to end through the real
// program: the switch, tables and contact types over HTTP, conditions,
// strategies, capacity and the backlog, the triggers, explanations, and
// a burst of first texts on two programs sharing one PostgreSQL.

// rtBusiness2 is a second business number of the same carrier account.
const rtBusiness2 = "+14155550198"

// rtQuick is how long a triggered assignment may take: well under the
// 5 s period of the backlog sweep, so a pass proves the trigger, not the sweep.
const rtQuick = 3 * time.Second

// rtFor returns a copy of e whose failures belong to t (a subtest).
func (e *env) rtFor(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// rtIDs lists the ids of users.
func rtIDs(users ...map[string]any) []any {
	ids := []any{}
	for _, u := range users {
		ids = append(ids, u["id"])
	}
	return ids
}

// rtEntry is a routing entry over users; extra sets conditions or capacity.
func rtEntry(strategy string, users []map[string]any, extra map[string]any) map[string]any {
	e := map[string]any{"conditions": map[string]any{}, "user_ids": rtIDs(users...), "strategy": strategy}
	for k, v := range extra {
		e[k] = v
	}
	return e
}

// rtSwitch sets allow_auto_assignment as the admin.
func (e *env) rtSwitch(on bool) {
	e.t.Helper()
	got := e.must(200, e.admin("PATCH", "/v1/settings/conversations", map[string]any{"allow_auto_assignment": on}))
	if got["allow_auto_assignment"] != on {
		e.t.Fatalf("settings after PATCH = %v", got)
	}
}

// rtTable creates a routing table as the admin.
func (e *env) rtTable(name string, isDefault bool, entries ...map[string]any) map[string]any {
	e.t.Helper()
	return e.must(201, e.admin("POST", "/v1/routing-tables", map[string]any{"name": name, "default": isDefault, "entries": entries}))
}

// rtAgents creates n agents named prefix0@example.com…, with their tokens.
func (e *env) rtAgents(prefix string, n int) ([]map[string]any, []string) {
	e.t.Helper()
	var users []map[string]any
	var tokens []string
	for i := 0; i < n; i++ {
		u, tok, _ := e.addStaff(fmt.Sprintf("%s%d@example.com", prefix, i), "agent", false)
		users, tokens = append(users, u), append(tokens, tok)
	}
	return users, tokens
}

// rtContact creates a contact as the admin.
func (e *env) rtContact(name, typ string, attrs map[string]any, phones ...string) map[string]any {
	e.t.Helper()
	body := map[string]any{"name": name, "phones": phones}
	if typ != "" {
		body["type"] = typ
	}
	if attrs != nil {
		body["attributes"] = attrs
	}
	return e.must(201, e.admin("POST", "/v1/contacts", body))
}

// rtTextTo has from text the business number to and returns the id of the
// conversation the text landed in.
func (e *env) rtTextTo(to, from, body string) string {
	e.t.Helper()
	res, err := e.carrier.SendInbound(context.Background(), twiliotest.Inbound{AccountSid: accountSID, From: from, To: to, Body: body})
	if err != nil || res.StatusCode != 200 {
		e.t.Fatalf("text %s -> %s: %+v %v", from, to, res, err)
	}
	for _, c := range e.must(200, e.admin("GET", "/v1/conversations?contact_phone="+url.QueryEscape(from), nil))["data"].([]any) {
		if c := c.(map[string]any); c["business_phone"] == to {
			return c["id"].(string)
		}
	}
	e.t.Fatalf("no conversation of %s with %s", from, to)
	return ""
}

// rtText has from text the first business number.
func (e *env) rtText(from, body string) string {
	e.t.Helper()
	return e.rtTextTo(business, from, body)
}

// rtAssignedWithin waits up to d for the conversation to have an assignee
// and returns it.
func (e *env) rtAssignedWithin(convID string, d time.Duration) string {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for {
		c := e.staffConv(convID)
		if id, ok := c["assignee_id"].(string); ok {
			return id
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("conversation %s (%v) still unassigned after %s", convID, c["status"], d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rtStaysUnassigned fails if the conversation gets an assignee within d.
func (e *env) rtStaysUnassigned(convID string, d time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c := e.staffConv(convID); c["assignee_id"] != nil {
			e.t.Fatalf("conversation %s was assigned to %v; want it waiting", convID, c["assignee_id"])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rtAutoEvents returns the conversation's auto-assignment events.
func (e *env) rtAutoEvents(convID string) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for _, ev := range staffEventsOf(e.staffEvents(convID), "assignee_changed") {
		if staffEventData(ev)["reason"] == "auto_assigned" {
			out = append(out, ev)
		}
	}
	return out
}

// rtRelationships reads a contact's relationships.
func (e *env) rtRelationships(contactID any) map[string]any {
	e.t.Helper()
	c := e.must(200, e.admin("GET", fmt.Sprintf("/v1/contacts/%v", contactID), nil))
	rels, ok := c["relationships"].(map[string]any)
	if !ok {
		e.t.Fatalf("contact has no relationships object: %v", c)
	}
	return rels
}

// rtAllConversations lists every conversation of the account as the admin.
func (e *env) rtAllConversations(query string) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for _, pg := range e.allPages(e.token, "/v1/conversations"+query, 200) {
		out = append(out, pg.Data...)
	}
	return out
}

// rtSimulate asks who a table would pick for a contact now.
func (e *env) rtSimulate(tableID, contactID any) map[string]any {
	e.t.Helper()
	return e.must(200, e.admin("POST", fmt.Sprintf("/v1/routing-tables/%v/simulate", tableID), map[string]any{"contact_id": contactID}))
}

func TestRoutingSwitch(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	agents, tokens := e.rtAgents("switch", 1)
	e.rtTable("Everyone", true, rtEntry("round_robin", agents, nil))

	t.Run("off by default, admin-only", func(t *testing.T) {
		e := e.rtFor(t)
		if got := e.must(200, e.admin("GET", "/v1/settings/conversations", nil)); got["allow_auto_assignment"] != false {
			t.Errorf("allow_auto_assignment = %v, want false by default", got["allow_auto_assignment"])
		}
		wantAPIError(t, e.call(tokens[0], "PATCH", "/v1/settings/conversations", map[string]any{"allow_auto_assignment": true}), 403, "")
		if got := e.must(200, e.admin("GET", "/v1/settings/conversations", nil)); got["allow_auto_assignment"] != false {
			t.Errorf("an agent's PATCH switched it: %v", got["allow_auto_assignment"])
		}
	})

	t.Run("off: nothing is assigned, not even by the sweep", func(t *testing.T) {
		e := e.rtFor(t)
		id := e.rtText("+14155550501", "anyone there?")
		e.rtStaysUnassigned(id, 6*time.Second) // past one sweep
		if evs := staffEventsOf(e.staffEvents(id), "assignee_changed"); len(evs) != 0 {
			t.Errorf("assignment events while off: %v", evs)
		}

		e.rtSwitch(true)
		if got := e.rtAssignedWithin(id, 10*time.Second); got != agents[0]["id"] {
			t.Errorf("switched on: waiting conversation assigned to %v, want the pool's agent", got)
		}

		e.rtSwitch(false)
		later := e.rtText("+14155550502", "hello again")
		e.rtStaysUnassigned(later, 6*time.Second)
		if n := len(e.rtAutoEvents(later)); n != 0 {
			t.Errorf("%d auto-assignment events after switching off", n)
		}
	})
}

func TestRoutingTablesAPI(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(nil)
	agents, tokens := e.rtAgents("crud", 2)
	acmeToken := e.staffSecondAccount()
	acmeAdmin := e.must(200, e.call(acmeToken, "GET", "/v1/me", nil))

	t.Run("validation names the entry", func(t *testing.T) {
		e := e.rtFor(t)
		bad := map[string]any{"name": "Broken", "entries": []map[string]any{
			rtEntry("round_robin", agents, nil),
			{"conditions": map[string]any{}, "user_ids": []any{}, "strategy": "round_robin"},
			{"conditions": map[string]any{}, "user_ids": []any{"999999"}, "strategy": "random", "capacity": 0},
			rtEntry("priority", []map[string]any{acmeAdmin}, nil),
			rtEntry("least_busy", agents, map[string]any{"conditions": map[string]any{"inbox_id": "999999", "channel_id": "999998"}}),
			rtEntry("round_robin", []map[string]any{agents[0], agents[0]}, nil),
			{"conditions": map[string]any{}, "user_ids": rtIDs(agents...)},
		}}
		wantAPIError(t, e.admin("POST", "/v1/routing-tables", bad), 422, "",
			"entries[1].user_ids", "entries[2].user_ids", "entries[2].strategy", "entries[2].capacity",
			"entries[3].user_ids", "entries[4].conditions.inbox_id", "entries[4].conditions.channel_id",
			"entries[5].user_ids", "entries[6].strategy")
		wantAPIError(t, e.admin("POST", "/v1/routing-tables", map[string]any{"name": "", "entries": []any{}}), 422, "", "name", "entries")
		wantAPIError(t, e.admin("POST", "/v1/routing-tables", map[string]any{"name": "Neg", "entries": []map[string]any{
			rtEntry("priority", agents, map[string]any{"capacity": -3})}}), 422, "", "entries[0].capacity")
		if n := len(e.must(200, e.admin("GET", "/v1/routing-tables", nil))["data"].([]any)); n != 0 {
			t.Errorf("%d tables after refused creations", n)
		}
	})

	t.Run("create, read, list, replace, delete", func(t *testing.T) {
		e := e.rtFor(t)
		made := e.rtTable("Sales", false,
			rtEntry("priority", agents, map[string]any{"conditions": map[string]any{"channel_id": ch["id"], "attributes": map[string]any{"tier": []any{"gold", "silver"}}}}),
			rtEntry("least_busy", agents[:1], map[string]any{"capacity": 5}))
		id := made["id"].(string)
		entries := made["entries"].([]any)
		if made["name"] != "Sales" || made["default"] != false || len(entries) != 2 {
			t.Fatalf("created table = %v", made)
		}
		first := entries[0].(map[string]any)
		if first["strategy"] != "priority" || !slices.Equal(first["user_ids"].([]any), rtIDs(agents...)) ||
			first["conditions"].(map[string]any)["channel_id"] != ch["id"] {
			t.Errorf("entries[0] = %v", first)
		}
		if cap := entries[1].(map[string]any)["capacity"]; cap != 5.0 {
			t.Errorf("entries[1].capacity = %v, want 5", cap)
		}
		got := e.must(200, e.admin("GET", "/v1/routing-tables/"+id, nil))
		if fmt.Sprint(got) != fmt.Sprint(made) {
			t.Errorf("GET = %v\nwant %v", got, made)
		}
		list := e.must(200, e.admin("GET", "/v1/routing-tables", nil))["data"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["id"] != id {
			t.Errorf("list = %v", list)
		}
		// Agents may read.
		e.must(200, e.call(tokens[0], "GET", "/v1/routing-tables/"+id, nil))

		put := e.must(200, e.admin("PUT", "/v1/routing-tables/"+id, map[string]any{"name": "Sales v2", "entries": []map[string]any{
			rtEntry("round_robin", agents, map[string]any{"capacity": 3})}}))
		if put["name"] != "Sales v2" || len(put["entries"].([]any)) != 1 || put["entries"].([]any)[0].(map[string]any)["strategy"] != "round_robin" {
			t.Errorf("PUT answered %v", put)
		}
		wantAPIError(t, e.admin("PUT", "/v1/routing-tables/"+id, map[string]any{"name": "Sales v3", "entries": []map[string]any{
			{"conditions": map[string]any{}, "user_ids": []any{}, "strategy": "fastest"}}}), 422, "", "entries[0].user_ids", "entries[0].strategy")
		if got := e.must(200, e.admin("GET", "/v1/routing-tables/"+id, nil)); got["name"] != "Sales v2" {
			t.Errorf("a refused PUT changed the table: %v", got)
		}

		w := e.admin("DELETE", "/v1/routing-tables/"+id, nil)
		if w.Status != 204 {
			t.Fatalf("DELETE answered %d: %s", w.Status, w.Body)
		}
		wantAPIError(t, e.admin("GET", "/v1/routing-tables/"+id, nil), 404, "")
		wantAPIError(t, e.admin("DELETE", "/v1/routing-tables/"+id, nil), 404, "")
		wantAPIError(t, e.admin("PUT", "/v1/routing-tables/"+id, map[string]any{"name": "x", "entries": []map[string]any{rtEntry("priority", agents, nil)}}), 404, "")
	})

	t.Run("one default table per account", func(t *testing.T) {
		e := e.rtFor(t)
		d := e.rtTable("Default", true, rtEntry("priority", agents, nil))
		wantAPIError(t, e.admin("POST", "/v1/routing-tables", map[string]any{"name": "Default 2", "default": true,
			"entries": []map[string]any{rtEntry("priority", agents, nil)}}), 409, "")
		e.must(204, e.admin("DELETE", "/v1/routing-tables/"+d["id"].(string), nil))
	})

	t.Run("contact types, and a table in use is not deleted", func(t *testing.T) {
		e := e.rtFor(t)
		table := e.rtTable("Admissions", false, rtEntry("round_robin", agents, nil))
		ct := e.must(201, e.admin("POST", "/v1/contact-types", map[string]any{"name": "applicant", "relationship": "counselor", "routing_table_id": table["id"]}))
		if ct["name"] != "applicant" || ct["relationship"] != "counselor" || ct["routing_table_id"] != table["id"] || ct["id"] == nil {
			t.Errorf("contact type = %v", ct)
		}
		wantAPIError(t, e.admin("POST", "/v1/contact-types", map[string]any{"name": "applicant", "relationship": "counselor"}), 409, "")
		wantAPIError(t, e.admin("POST", "/v1/contact-types", map[string]any{"name": "", "relationship": ""}), 422, "", "name", "relationship")
		wantAPIError(t, e.admin("POST", "/v1/contact-types", map[string]any{"name": "ghost", "relationship": "x", "routing_table_id": "999999"}), 422, "", "routing_table_id")
		list := e.must(200, e.admin("GET", "/v1/contact-types", nil))["data"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["id"] != ct["id"] {
			t.Errorf("contact types = %v", list)
		}

		wantAPIError(t, e.admin("DELETE", "/v1/routing-tables/"+table["id"].(string), nil), 409, "table_in_use")
		put := e.must(200, e.admin("PUT", "/v1/contact-types/"+ct["id"].(string), map[string]any{"name": "applicant", "relationship": "advisor", "routing_table_id": nil}))
		if put["relationship"] != "advisor" || put["routing_table_id"] != nil {
			t.Errorf("PUT contact type = %v", put)
		}
		if got := e.must(200, e.admin("GET", "/v1/contact-types/"+ct["id"].(string), nil)); got["relationship"] != "advisor" || got["name"] != "applicant" {
			t.Errorf("GET contact type = %v", got)
		}
		wantAPIError(t, e.admin("GET", "/v1/contact-types/999999", nil), 404, "not_found")
		e.must(204, e.admin("DELETE", "/v1/routing-tables/"+table["id"].(string), nil))
	})

	t.Run("another account's table is not found", func(t *testing.T) {
		e := e.rtFor(t)
		theirs := e.must(201, e.call(acmeToken, "POST", "/v1/routing-tables", map[string]any{"name": "Acme", "entries": []map[string]any{
			rtEntry("priority", []map[string]any{acmeAdmin}, nil)}}))
		id := theirs["id"].(string)
		contact := e.rtContact("Ann", "", nil, "+14155550511")
		wantAPIError(t, e.admin("GET", "/v1/routing-tables/"+id, nil), 404, "")
		wantAPIError(t, e.admin("PUT", "/v1/routing-tables/"+id, map[string]any{"name": "Mine", "entries": []map[string]any{rtEntry("priority", agents, nil)}}), 404, "")
		wantAPIError(t, e.admin("DELETE", "/v1/routing-tables/"+id, nil), 404, "")
		wantAPIError(t, e.admin("POST", "/v1/routing-tables/"+id+"/simulate", map[string]any{"contact_id": contact["id"]}), 404, "")
		wantAPIError(t, e.admin("POST", "/v1/contact-types", map[string]any{"name": "stolen", "relationship": "x", "routing_table_id": id}), 422, "", "routing_table_id")
		for _, tb := range e.must(200, e.admin("GET", "/v1/routing-tables", nil))["data"].([]any) {
			if tb.(map[string]any)["id"] == id {
				t.Errorf("another account's table is listed")
			}
		}
		if got := e.must(200, e.call(acmeToken, "GET", "/v1/routing-tables/"+id, nil)); got["name"] != "Acme" {
			t.Errorf("the owner's table changed: %v", got)
		}
	})

	t.Run("agents may not write", func(t *testing.T) {
		e := e.rtFor(t)
		table := e.rtTable("Kept", false, rtEntry("priority", agents, nil))
		id := table["id"].(string)
		body := map[string]any{"name": "Mine", "entries": []map[string]any{rtEntry("priority", agents, nil)}}
		wantAPIError(t, e.call(tokens[0], "POST", "/v1/routing-tables", body), 403, "")
		wantAPIError(t, e.call(tokens[0], "PUT", "/v1/routing-tables/"+id, body), 403, "")
		wantAPIError(t, e.call(tokens[0], "DELETE", "/v1/routing-tables/"+id, nil), 403, "")
		wantAPIError(t, e.call(tokens[0], "POST", "/v1/contact-types", map[string]any{"name": "x", "relationship": "y"}), 403, "")
		if got := e.must(200, e.admin("GET", "/v1/routing-tables/"+id, nil)); got["name"] != "Kept" {
			t.Errorf("table after agents' writes = %v", got)
		}
	})
}

func TestRoutingContactTypes(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	xs, xTokens := e.rtAgents("counselor", 2)
	ys, _ := e.rtAgents("manager", 2)
	tableA := e.rtTable("Admissions", false, rtEntry("round_robin", xs, nil))
	tableB := e.rtTable("Accounts", false, rtEntry("round_robin", ys, nil))
	e.must(201, e.admin("POST", "/v1/contact-types", map[string]any{"name": "applicant", "relationship": "counselor", "routing_table_id": tableA["id"]}))
	e.must(201, e.admin("POST", "/v1/contact-types", map[string]any{"name": "customer", "relationship": "account_manager", "routing_table_id": tableB["id"]}))
	// A type without a table, and contacts without a type, go to the default table.
	zs, _ := e.rtAgents("fallback", 1)
	e.rtTable("Fallback", true, rtEntry("priority", zs, nil))
	e.must(201, e.admin("POST", "/v1/contact-types", map[string]any{"name": "alumnus", "relationship": "mentor"}))
	e.rtSwitch(true)

	const ann1, ann2, ann3, carl, cora = "+14155550601", "+14155550602", "+14155550603", "+14155550611", "+14155550612"
	ann := e.rtContact("Ann Applicant", "applicant", nil, ann1, ann2, ann3)
	carlC := e.rtContact("Carl Customer", "customer", nil, carl)
	coraC := e.rtContact("Cora Customer", "customer", nil, cora)
	in := func(id string, pool []map[string]any) bool { return slices.Contains(rtIDs(pool...), any(id)) }

	var counselor string
	t.Run("the type picks the table and the relationship is recorded", func(t *testing.T) {
		e := e.rtFor(t)
		counselor = e.rtAssignedWithin(e.rtText(ann1, "I applied last week"), rtQuick)
		if !in(counselor, xs) {
			t.Fatalf("applicant assigned to %s, want one of table A's pool %v", counselor, rtIDs(xs...))
		}
		if rels := e.rtRelationships(ann["id"]); len(rels) != 1 || rels["counselor"] != counselor {
			t.Errorf("applicant's relationships = %v, want {counselor: %s}", rels, counselor)
		}
		for _, c := range []struct {
			contact map[string]any
			phone   string
		}{{carlC, carl}, {coraC, cora}} {
			got := e.rtAssignedWithin(e.rtText(c.phone, "my order"), rtQuick)
			if !in(got, ys) {
				t.Errorf("customer assigned to %s, want one of table B's pool %v", got, rtIDs(ys...))
			}
			if rels := e.rtRelationships(c.contact["id"]); len(rels) != 1 || rels["account_manager"] != got {
				t.Errorf("customer's relationships = %v, want {account_manager: %s}", rels, got)
			}
		}
	})

	t.Run("the default table routes a type without a table, and contacts without a type", func(t *testing.T) {
		e := e.rtFor(t)
		al := e.rtContact("Al Alumnus", "alumnus", nil, "+14155550621")
		if got := e.rtAssignedWithin(e.rtText("+14155550621", "hello"), rtQuick); got != zs[0]["id"] {
			t.Errorf("alumnus assigned to %s, want the default table's %v", got, zs[0]["id"])
		}
		if rels := e.rtRelationships(al["id"]); len(rels) != 1 || rels["mentor"] != zs[0]["id"] {
			t.Errorf("alumnus's relationships = %v, want {mentor: %v}", rels, zs[0]["id"])
		}
		nobody := e.rtContact("Nobody Special", "", nil, "+14155550622")
		if got := e.rtAssignedWithin(e.rtText("+14155550622", "hello"), rtQuick); got != zs[0]["id"] {
			t.Errorf("untyped contact assigned to %s, want the default table's %v", got, zs[0]["id"])
		}
		if rels := e.rtRelationships(nobody["id"]); len(rels) != 0 {
			t.Errorf("untyped contact's relationships = %v, want none", rels)
		}
	})

	t.Run("sticky: the contact's second number goes to the same counselor", func(t *testing.T) {
		e := e.rtFor(t)
		if counselor == "" {
			t.Skip("needs the first subtest")
		}
		// Round-robin alone would now pick the other counselor.
		sim := e.rtSimulate(tableA["id"], ann["id"])
		if sim["user_id"] != counselor || sim["sticky"] != true {
			t.Errorf("simulate before the second number = %v; want the counselor, sticky", sim)
		}
		id := e.rtText(ann2, "texting from my work phone")
		if got := e.rtAssignedWithin(id, rtQuick); got != counselor {
			t.Errorf("second number's conversation went to %s, want the counselor %s", got, counselor)
		}
		evs := e.rtAutoEvents(id)
		if len(evs) != 1 || staffEventData(evs[0])["sticky"] != true {
			t.Errorf("auto-assignment events = %v; want one, sticky", evs)
		}
	})

	t.Run("an unavailable counselor is passed over, and replaced", func(t *testing.T) {
		e := e.rtFor(t)
		if counselor == "" {
			t.Skip("needs the first subtest")
		}
		tok := xTokens[slices.Index(rtIDs(xs...), any(counselor))]
		if got := e.must(200, e.call(tok, "PATCH", "/v1/me", map[string]any{"available": false})); got["available"] != false {
			t.Fatalf("PATCH /v1/me = %v", got)
		}
		id := e.rtText(ann3, "and from my third phone")
		other := e.rtAssignedWithin(id, rtQuick)
		if other == counselor || !in(other, xs) {
			t.Errorf("with the counselor unavailable the conversation went to %s; want the other counselor", other)
		}
		if rels := e.rtRelationships(ann["id"]); rels["counselor"] != other {
			t.Errorf("relationships = %v, want the new counselor %s", rels, other)
		}
	})
}

func TestRoutingConditions(t *testing.T) {
	e := boot(t, "")
	ch1 := e.setupChannel(nil)
	inbox2 := e.must(201, e.admin("POST", "/v1/inboxes", map[string]any{"name": "Sales", "kind": "sales"}))
	ch2 := e.must(201, e.admin("POST", "/v1/channels", map[string]any{"carrier": "twilio", "phone_number": rtBusiness2,
		"inbox_id": inbox2["id"], "account_sid": accountSID, "auth_token": authToken}))
	pools, _ := e.rtAgents("cond", 6)
	gold, north, vip, sales, support, other := pools[0:1], pools[1:2], pools[2:3], pools[3:4], pools[4:5], pools[5:6]
	table := e.rtTable("By condition", true,
		rtEntry("priority", gold, map[string]any{"conditions": map[string]any{"attributes": map[string]any{"tier": "gold"}}}),
		rtEntry("priority", north, map[string]any{"conditions": map[string]any{"attributes": map[string]any{"region": []any{"north", "east"}}}}),
		rtEntry("priority", vip, map[string]any{"conditions": map[string]any{"type": "vip"}}), // DESIGN.md's word for contact_type
		rtEntry("priority", sales, map[string]any{"conditions": map[string]any{"channel_id": ch2["id"]}}),
		rtEntry("priority", support, map[string]any{"conditions": map[string]any{"inbox_id": ch1["inbox_id"]}}),
		rtEntry("priority", other, map[string]any{"conditions": map[string]any{"attributes": map[string]any{"score": 7}}}),
	)
	e.rtSwitch(true)
	read := e.must(200, e.admin("GET", "/v1/routing-tables/"+table["id"].(string), nil))["entries"].([]any)
	if got := read[2].(map[string]any)["conditions"]; fmt.Sprint(got) != "map[contact_type:vip]" {
		t.Errorf("the conditions given as type read back as %v; want contact_type", got)
	}
	wantAPIError(t, e.admin("POST", "/v1/routing-tables", map[string]any{"name": "Two types", "entries": []any{
		map[string]any{"conditions": map[string]any{"type": "vip", "contact_type": "lead"}, "user_ids": []any{vip[0]["id"]}, "strategy": "priority"}}}),
		422, "", "type")
	wantAPIError(t, e.admin("POST", "/v1/routing-tables", map[string]any{"name": "Bad inbox", "entries": []any{
		map[string]any{"conditions": map[string]any{"inbox_id": 7}, "user_ids": []any{vip[0]["id"]}, "strategy": "priority"}}}),
		422, "", "entries.conditions.inbox_id")

	cases := []struct {
		name      string
		typ       string
		attrs     map[string]any
		to        string
		want      []map[string]any
		wantEntry float64
	}{
		{"attribute equals", "", map[string]any{"tier": "gold", "region": "north"}, business, gold, 0},
		{"attribute in list", "", map[string]any{"tier": "silver", "region": "east"}, business, north, 1},
		{"not in the list falls through to the inbox", "", map[string]any{"region": "south"}, business, support, 4},
		{"contact type", "vip", map[string]any{"region": "west"}, rtBusiness2, vip, 2},
		{"channel", "", map[string]any{"region": "west"}, rtBusiness2, sales, 3},
		{"a contact we never saw, on the second channel", "", nil, rtBusiness2, sales, 3},
		{"a contact we never saw, on the first inbox", "", nil, business, support, 4},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.rtFor(t)
			phone := fmt.Sprintf("+141555507%02d", i)
			if c.attrs != nil || c.typ != "" {
				e.rtContact("Contact "+c.name, c.typ, c.attrs, phone)
			}
			id := e.rtTextTo(c.to, phone, "hello")
			if got := e.rtAssignedWithin(id, rtQuick); got != c.want[0]["id"] {
				t.Errorf("assigned to %s, want %v", got, c.want[0]["id"])
			}
			evs := e.rtAutoEvents(id)
			if len(evs) != 1 || staffEventData(evs[0])["entry"] != c.wantEntry || staffEventData(evs[0])["table"] != "By condition" {
				t.Errorf("events = %v; want entry %v of the table", evs, c.wantEntry)
			}
		})
	}

	t.Run("simulate explains what was passed", func(t *testing.T) {
		e := e.rtFor(t)
		contact := e.rtContact("Sam South", "", map[string]any{"region": "south"}, "+14155550799")
		e.rtText("+14155550799", "hi")
		sim := e.rtSimulate(table["id"], contact["id"])
		passed := fmt.Sprint(sim["passed"])
		if sim["user_id"] != support[0]["id"] || sim["entry"] != 4.0 {
			t.Errorf("simulate = %v; want entries[4]'s user", sim)
		}
		for _, want := range []string{"entries[0]", "entries[1]", "entries[2]", "entries[3]"} {
			if !strings.Contains(passed, want) {
				t.Errorf("passed = %v; want it to explain %s", sim["passed"], want)
			}
		}
	})
}

func TestRoutingStrategies(t *testing.T) {
	t.Run("priority: the first available", func(t *testing.T) {
		e := boot(t, "")
		e.setupChannel(nil)
		pool, tokens := e.rtAgents("prio", 3)
		e.rtTable("Priority", true, rtEntry("priority", pool, nil))
		e.rtSwitch(true)
		for i := 0; i < 3; i++ {
			if got := e.rtAssignedWithin(e.rtText(fmt.Sprintf("+141555508%02d", i), "hi"), rtQuick); got != pool[0]["id"] {
				t.Errorf("text %d went to %s, want the first of the pool", i, got)
			}
		}
		e.must(200, e.call(tokens[0], "PATCH", "/v1/me", map[string]any{"available": false}))
		if got := e.rtAssignedWithin(e.rtText("+14155550810", "hi"), rtQuick); got != pool[1]["id"] {
			t.Errorf("with the first unavailable the text went to %s, want the second", got)
		}
	})

	t.Run("least_busy: fewest new and open", func(t *testing.T) {
		e := boot(t, "")
		e.setupChannel(nil)
		pool, tokens := e.rtAgents("busy", 3)
		e.rtTable("Least busy", true, rtEntry("least_busy", pool, nil))
		// Loads 2, 1, 0 by hand while the switch is off; one more of the
		// first's is resolved, which does not count.
		var pre []string
		for i, who := range []int{0, 0, 1, 0} {
			id := e.rtText(fmt.Sprintf("+141555508%02d", 20+i), "hi")
			e.staffAssign(id, pool[who]["id"].(string))
			pre = append(pre, id)
		}
		e.must(200, e.call(tokens[0], "POST", "/v1/conversations/"+pre[3]+"/resolve", nil))
		e.rtSwitch(true)

		// 2,1,0 → third; 2,1,1 → second; 2,2,1 → third; 2,2,2 → first (pool order).
		for i, want := range []int{2, 1, 2, 0} {
			got := e.rtAssignedWithin(e.rtText(fmt.Sprintf("+141555508%02d", 30+i), "hi"), rtQuick)
			if got != pool[want]["id"] {
				t.Errorf("text %d went to %s, want agent %d (%v)", i, got, want, pool[want]["id"])
			}
		}
	})

	t.Run("capacity and the backlog", func(t *testing.T) {
		e := boot(t, "")
		e.setupChannel(nil)
		pool, tokens := e.rtAgents("cap", 1)
		k, kTok := pool[0]["id"].(string), tokens[0]
		table := e.rtTable("One at a time", true, rtEntry("round_robin", pool, map[string]any{"capacity": 1}))
		tableID := table["id"].(string)
		e.rtSwitch(true)
		put := func(capacity int) {
			e.must(200, e.admin("PUT", "/v1/routing-tables/"+tableID, map[string]any{"name": "One at a time", "default": true,
				"entries": []map[string]any{rtEntry("round_robin", pool, map[string]any{"capacity": capacity})}}))
		}

		c1 := e.rtText("+14155550901", "first")
		if got := e.rtAssignedWithin(c1, rtQuick); got != k {
			t.Fatalf("first text went to %s", got)
		}
		c2 := e.rtText("+14155550902", "second")
		time.Sleep(20 * time.Millisecond)
		c3 := e.rtText("+14155550903", "third")
		e.rtStaysUnassigned(c2, 1500*time.Millisecond)
		if sim := e.rtSimulate(tableID, e.staffConv(c2)["contact"].(map[string]any)["id"]); sim["user_id"] != nil || sim["reason"] == "" {
			t.Errorf("simulate at capacity = %v; want nobody, with a reason", sim)
		}

		t.Run("resolving frees capacity for the longest-waiting", func(t *testing.T) {
			e := e.rtFor(t)
			e.must(200, e.call(kTok, "POST", "/v1/conversations/"+c1+"/resolve", nil))
			if got := e.rtAssignedWithin(c2, rtQuick); got != k {
				t.Errorf("c2 went to %s", got)
			}
			e.rtStaysUnassigned(c3, 500*time.Millisecond)
		})
		t.Run("reassigning away frees capacity", func(t *testing.T) {
			e := e.rtFor(t)
			adminID := e.must(200, e.admin("GET", "/v1/me", nil))["id"].(string)
			e.staffAssign(c2, adminID)
			if got := e.rtAssignedWithin(c3, rtQuick); got != k {
				t.Errorf("c3 went to %s", got)
			}
		})
		t.Run("raising the capacity takes waiting work", func(t *testing.T) {
			e := e.rtFor(t)
			c4 := e.rtText("+14155550904", "fourth")
			e.rtStaysUnassigned(c4, 1500*time.Millisecond)
			put(2)
			if got := e.rtAssignedWithin(c4, rtQuick); got != k {
				t.Errorf("c4 went to %s", got)
			}
		})
		t.Run("becoming available takes waiting work", func(t *testing.T) {
			e := e.rtFor(t)
			e.must(200, e.call(kTok, "PATCH", "/v1/me", map[string]any{"available": false}))
			put(10)
			c5 := e.rtText("+14155550905", "fifth")
			e.rtStaysUnassigned(c5, 1500*time.Millisecond)
			e.must(200, e.call(kTok, "PATCH", "/v1/me", map[string]any{"available": true}))
			if got := e.rtAssignedWithin(c5, rtQuick); got != k {
				t.Errorf("c5 went to %s", got)
			}
		})
	})

	// "Longest-waiting" is how long a conversation has waited for an
	// assignee, not how old it is: a thread reopened after close (closed →
	// new, assignee cleared) joins the back of the queue.
	t.Run("longest-waiting first: a reopened conversation queues behind those already waiting", func(t *testing.T) {
		e := boot(t, "")
		e.setupChannel(nil)
		pool, tokens := e.rtAgents("wait", 1)
		k, kTok := pool[0]["id"].(string), tokens[0]
		e.rtTable("One at a time", true, rtEntry("priority", pool, map[string]any{"capacity": 1}))
		e.rtSwitch(true)

		old := e.rtText("+14155550911", "an old thread")
		e.rtAssignedWithin(old, rtQuick)
		e.must(200, e.call(kTok, "POST", "/v1/conversations/"+old+"/close", nil))
		busy := e.rtText("+14155550912", "keeps k busy")
		e.rtAssignedWithin(busy, rtQuick)
		waiting := e.rtText("+14155550913", "waiting since now")
		time.Sleep(50 * time.Millisecond)
		if e.rtText("+14155550911", "back again") != old { // closed → new, unassigned
			t.Fatal("the old thread's text landed elsewhere")
		}
		e.rtStaysUnassigned(waiting, 1000*time.Millisecond)
		e.rtStaysUnassigned(old, 100*time.Millisecond)

		e.must(200, e.call(kTok, "POST", "/v1/conversations/"+busy+"/resolve", nil))
		deadline := time.Now().Add(rtQuick)
		for time.Now().Before(deadline) {
			w, o := e.staffConv(waiting)["assignee_id"], e.staffConv(old)["assignee_id"]
			if o != nil {
				t.Fatalf("the freed place went to the conversation that began waiting last (reopened after close) and not to " +
					"the one waiting longer: the backlog is ordered by when conversations were created, not by how long each has waited")
			}
			if w == k {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("nothing assigned within %s after capacity freed", rtQuick)
	})
}

// TestRoutingBacklogBeyondOneSweep: conversations nothing can take (no
// entry matches them) must not hide the waiting ones that can be assigned.
// (Failed while a sweep looked only at the 200 oldest; passes since sweeps
// page through the whole backlog.)
func TestRoutingBacklogBeyondOneSweep(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	inbox2 := e.must(201, e.admin("POST", "/v1/inboxes", map[string]any{"name": "VIP", "kind": "sales"}))
	ch2 := e.must(201, e.admin("POST", "/v1/channels", map[string]any{"carrier": "twilio", "phone_number": rtBusiness2,
		"inbox_id": inbox2["id"], "account_sid": accountSID, "auth_token": authToken}))
	pool, tokens := e.rtAgents("vip", 1)
	e.rtTable("VIP line only", true, rtEntry("priority", pool, map[string]any{"capacity": 1,
		"conditions": map[string]any{"channel_id": ch2["id"]}}))
	e.rtSwitch(true)

	first := e.rtTextTo(rtBusiness2, "+14155551000", "vip 1")
	e.rtAssignedWithin(first, rtQuick)
	// 205 conversations on the main line: no entry matches them, they wait.
	const unmatched = 205
	var wg sync.WaitGroup
	errs := make(chan error, unmatched)
	sem := make(chan struct{}, 16)
	for i := 0; i < unmatched; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			res, err := e.carrier.SendInbound(context.Background(), twiliotest.Inbound{AccountSid: accountSID,
				From: fmt.Sprintf("+1415%07d", 6000000+i), To: business, Body: "main line"})
			if err == nil && res.StatusCode != 200 {
				err = fmt.Errorf("webhook answered %d", res.StatusCode)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	second := e.rtTextTo(rtBusiness2, "+14155551001", "vip 2") // waits: capacity 1
	e.rtStaysUnassigned(second, 500*time.Millisecond)

	e.must(200, e.call(tokens[0], "POST", "/v1/conversations/"+first+"/resolve", nil))
	deadline := time.Now().Add(12 * time.Second) // the trigger, and two periodic sweeps
	for e.staffConv(second)["assignee_id"] == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the VIP conversation waiting behind %d unassignable older ones was never assigned after capacity freed: "+
				"each sweep looks only at the 200 longest-waiting conversations (routing.sweepBatch) and never past them", unmatched)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestRoutingTriggers(t *testing.T) {
	clock := &testClock{t: time.Date(2030, 5, 6, 9, 0, 0, 0, time.UTC)}
	e := boot(t, "", withClock(clock))
	e.setupChannel(nil)
	pool, _ := e.rtAgents("trig", 1)
	r := pool[0]["id"].(string)
	e.rtTable("Everyone", true, rtEntry("round_robin", pool, nil))
	e.rtSwitch(true)

	t.Run("closed, then texted: new, unassigned, then auto-assigned", func(t *testing.T) {
		e := e.rtFor(t)
		id := e.rtText("+14155551101", "hello")
		e.rtAssignedWithin(id, rtQuick)
		e.must(200, e.admin("POST", "/v1/conversations/"+id+"/close", nil))
		if e.rtText("+14155551101", "me again") != id {
			t.Fatal("the text started another conversation")
		}
		if got := e.rtAssignedWithin(id, rtQuick); got != r {
			t.Errorf("assigned to %s", got)
		}
		if c := e.staffConv(id); c["status"] != "new" {
			t.Errorf("status = %v, want new", c["status"])
		}
		var reasons []any
		for _, ev := range staffEventsOf(e.staffEvents(id), "assignee_changed") {
			reasons = append(reasons, staffEventData(ev)["reason"])
		}
		if want := []any{"auto_assigned", "reopened_after_close", "auto_assigned"}; !slices.Equal(reasons, want) {
			t.Errorf("assignment reasons = %v, want %v", reasons, want)
		}
	})

	t.Run("reopened by the contact without an assignee", func(t *testing.T) {
		e := e.rtFor(t)
		id := e.rtText("+14155551102", "hello")
		e.rtAssignedWithin(id, rtQuick)
		e.must(200, e.admin("POST", "/v1/conversations/"+id+"/resolve", nil))
		e.staffAssign(id, "")
		e.rtStaysUnassigned(id, 500*time.Millisecond) // resolved: not waiting
		e.rtText("+14155551102", "one more question")
		if got := e.rtAssignedWithin(id, rtQuick); got != r {
			t.Errorf("assigned to %s", got)
		}
		if c := e.staffConv(id); c["status"] != "open" {
			t.Errorf("status = %v, want open", c["status"])
		}
		if n := len(e.rtAutoEvents(id)); n != 2 {
			t.Errorf("%d auto-assignment events, want 2", n)
		}
	})

	t.Run("a snoozed conversation woken by the scheduler", func(t *testing.T) {
		e := e.rtFor(t)
		id := e.rtText("+14155551103", "hello")
		e.rtAssignedWithin(id, rtQuick)
		until := clock.Now().Add(time.Hour).Truncate(time.Second)
		e.must(200, e.admin("POST", "/v1/conversations/"+id+"/snooze", map[string]any{"until": until.Format(time.RFC3339)}))
		e.staffAssign(id, "")
		e.rtStaysUnassigned(id, 1500*time.Millisecond)
		if c := e.staffConv(id); c["status"] != "snoozed" {
			t.Fatalf("status = %v, want snoozed", c["status"])
		}
		clock.Advance(2 * time.Hour)
		if got := e.rtAssignedWithin(id, rtQuick+time.Second); got != r {
			t.Errorf("assigned to %s", got)
		}
		if c := e.staffConv(id); c["status"] != "open" {
			t.Errorf("status = %v, want open", c["status"])
		}
	})

	t.Run("a keyword-only first text creates no work", func(t *testing.T) {
		e := e.rtFor(t)
		id := e.rtText("+14155551104", "STOP")
		e.rtStaysUnassigned(id, time.Second)
		if c := e.staffConv(id); c["status"] != "resolved" {
			t.Errorf("status = %v, want resolved", c["status"])
		}
	})
}

func TestRoutingExplainable(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	pool, _ := e.rtAgents("why", 2)
	table := e.rtTable("Admissions", false, rtEntry("round_robin", pool, nil))
	tableID := table["id"].(string)
	e.must(201, e.admin("POST", "/v1/contact-types", map[string]any{"name": "applicant", "relationship": "counselor", "routing_table_id": tableID}))
	e.rtSwitch(true)
	const phone = "+14155551201"
	contact := e.rtContact("Ann", "applicant", nil, phone)

	var predicted any
	t.Run("simulate answers who and why, and changes nothing", func(t *testing.T) {
		e := e.rtFor(t)
		sim := e.rtSimulate(tableID, contact["id"])
		predicted = sim["user_id"]
		if predicted != pool[0]["id"] || sim["entry"] != 0.0 || sim["strategy"] != "round_robin" || sim["sticky"] != false ||
			sim["relationship"] != "counselor" || sim["reason"] == "" || sim["passed"] == nil || sim["table_id"] != tableID {
			t.Errorf("simulate = %v", sim)
		}
		// Again: the round-robin position did not move.
		if again := e.rtSimulate(tableID, contact["id"]); again["user_id"] != predicted {
			t.Errorf("a second simulation picked %v, want %v: the first one moved the cursor", again["user_id"], predicted)
		}
		if rels := e.rtRelationships(contact["id"]); len(rels) != 0 {
			t.Errorf("relationships after simulate = %v", rels)
		}
		if n := len(e.rtAllConversations("")); n != 0 {
			t.Errorf("simulate created %d conversations", n)
		}
		wantAPIError(t, e.admin("POST", "/v1/routing-tables/"+tableID+"/simulate", map[string]any{}), 422, "", "contact_id")
		wantAPIError(t, e.admin("POST", "/v1/routing-tables/"+tableID+"/simulate", map[string]any{"contact_id": "999999"}), 422, "", "contact_id")
		wantAPIError(t, e.admin("POST", "/v1/routing-tables/999999/simulate", map[string]any{"contact_id": contact["id"]}), 404, "")
	})

	t.Run("the assignment event names table, entry and strategy", func(t *testing.T) {
		e := e.rtFor(t)
		id := e.rtText(phone, "hello")
		got := e.rtAssignedWithin(id, rtQuick)
		if got != predicted {
			t.Errorf("assigned to %s; the simulation said %v", got, predicted)
		}
		evs := e.rtAutoEvents(id)
		if len(evs) != 1 {
			t.Fatalf("auto-assignment events = %v, want one", evs)
		}
		ev, data := evs[0], staffEventData(evs[0])
		if ev["actor_type"] != "system" || data["to"] != got || data["from"] != nil || data["table"] != "Admissions" ||
			data["table_id"] != tableID || data["entry"] != 0.0 || data["strategy"] != "round_robin" || data["reason"] != "auto_assigned" {
			t.Errorf("event = %v", ev)
		}

		before := len(e.staffEvents(id))
		sim := e.rtSimulate(tableID, contact["id"])
		if sim["user_id"] != got || sim["sticky"] != true {
			t.Errorf("simulate after = %v; want the counselor, sticky", sim)
		}
		if n := len(e.staffEvents(id)); n != before {
			t.Errorf("simulate wrote %d events", n-before)
		}
	})
}

// TestRoutingWebhookAnswersWithBigTable: with a large table (100 entries
// over 20 agents) and 30 texts at once, every webhook answers 200 and the
// assignments follow. Nothing is timed; the slowest answer is logged with
// auto-assignment off and on, for comparison.
func TestRoutingWebhookAnswersWithBigTable(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		for _, on := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/auto_assignment_%v", dialect, on), func(t *testing.T) {
				e := boot(t, storetest.URL(t, dialect))
				e.setupChannel(nil)
				pool, _ := e.rtAgents("big", 20)
				var entries []map[string]any
				for i := 0; i < 99; i++ {
					entries = append(entries, rtEntry("least_busy", pool, map[string]any{"capacity": 50,
						"conditions": map[string]any{"attributes": map[string]any{"segment": fmt.Sprintf("s%d", i)}}}))
				}
				entries = append(entries, rtEntry("least_busy", pool, nil))
				e.rtTable("Big", true, entries...)
				e.rtSwitch(on)

				const n = 30
				var wg sync.WaitGroup
				errs := make(chan error, n)
				var mu sync.Mutex
				var slowest time.Duration
				for i := 0; i < n; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						began := time.Now()
						res, err := e.carrier.SendInbound(context.Background(), twiliotest.Inbound{AccountSid: accountSID,
							From: fmt.Sprintf("+1415%07d", 5000000+i), To: business, Body: "hello"})
						mu.Lock()
						slowest = max(slowest, time.Since(began))
						mu.Unlock()
						if err == nil && (res.StatusCode != 200 || !strings.Contains(res.Body, "<Response")) {
							err = fmt.Errorf("webhook answered %d %q", res.StatusCode, res.Body)
						}
						if err != nil {
							errs <- err
						}
					}()
				}
				wg.Wait()
				close(errs)
				t.Logf("%d concurrent webhooks, auto-assignment %v: the slowest answered in %s", n, on, slowest.Round(time.Millisecond))
				for err := range errs {
					t.Error(err)
				}
				if got := len(e.rtAllConversations("")); got != n {
					t.Errorf("%d conversations, want %d", got, n)
				}
				if on {
					e.eventually("every conversation assigned", func() bool {
						return len(e.rtAllConversations("?view=unassigned")) == 0
					})
				}
			})
		}
	}
}

// TestRoutingBurstTwoPrograms: two parley programs on one PostgreSQL, 200
// simultaneous first texts split between their webhooks. Round-robin and
// least-busy share them out to within one; no capacity is exceeded.
func TestRoutingBurstTwoPrograms(t *testing.T) {
	const texts, agents = 200, 7
	cases := []struct {
		name     string
		strategy string
		capacity int // 0: none
		assigned int // how many end up assigned
	}{
		{"round_robin", "round_robin", 0, texts},
		{"least_busy capacity 30", "least_busy", 30, texts},
		{"least_busy capacity 25, a backlog", "least_busy", 25, agents * 25},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dbURL := storetest.URL(t, "postgres") // skips loudly without PostgreSQL
			e1 := boot(t, dbURL)
			e2 := boot(t, dbURL) // the account exists: no second bootstrap
			e2.must(200, e2.admin("GET", "/v1/me", nil))
			e1.setupChannel(nil)
			pool, _ := e1.rtAgents("burst", agents)
			extra := map[string]any{}
			if c.capacity > 0 {
				extra["capacity"] = c.capacity
			}
			e1.rtTable("Everyone", true, rtEntry(c.strategy, pool, extra))
			e1.rtSwitch(true)

			start := make(chan struct{})
			var wg sync.WaitGroup
			errs := make(chan error, texts)
			for i := 0; i < texts; i++ {
				target := []*env{e1, e2}[i%2]
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					res, err := target.carrier.SendInbound(context.Background(), twiliotest.Inbound{AccountSid: accountSID,
						From: fmt.Sprintf("+1415%07d", 7000000+i), To: business, Body: "hi, this is my first text"})
					if err == nil && res.StatusCode != 200 {
						err = fmt.Errorf("%s answered %d: %s", target.base, res.StatusCode, res.Body)
					}
					if err != nil {
						errs <- err
					}
				}()
			}
			began := time.Now()
			close(start)
			wg.Wait()
			answered := time.Since(began)
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}

			counts := func() (map[any]int, int, int) {
				per, assigned, total := map[any]int{}, 0, 0
				for _, conv := range e1.rtAllConversations("") {
					total++
					if a := conv["assignee_id"]; a != nil {
						per[a]++
						assigned++
					}
				}
				return per, assigned, total
			}
			deadline := time.Now().Add(60 * time.Second)
			per, assigned, total := counts()
			for assigned < c.assigned {
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d conversations assigned after 60 s, want %d", assigned, total, c.assigned)
				}
				time.Sleep(100 * time.Millisecond)
				per, assigned, total = counts()
			}
			allAssigned := time.Since(began)
			if c.assigned < texts {
				time.Sleep(6 * time.Second) // both programs sweep the backlog at least once
				per, assigned, total = counts()
			}
			if total != texts || assigned != c.assigned {
				t.Errorf("%d conversations, %d assigned; want %d, %d", total, assigned, texts, c.assigned)
			}
			var list []int
			for _, u := range pool {
				list = append(list, per[u["id"]])
			}
			t.Logf("%s: per-user counts %v (webhooks answered in %s, all assigned %s after the burst)",
				c.name, list, answered.Round(time.Millisecond), allAssigned.Round(time.Millisecond))
			if len(per) != agents || slices.Max(list)-slices.Min(list) > 1 {
				t.Errorf("per-user counts %v differ by more than one", list)
			}
			if c.capacity > 0 && slices.Max(list) > c.capacity {
				t.Errorf("per-user counts %v exceed capacity %d", list, c.capacity)
			}
			// Each conversation was auto-assigned exactly once.
			for _, conv := range e1.rtAllConversations("") {
				if conv["assignee_id"] == nil {
					continue
				}
				if n := len(e1.rtAutoEvents(conv["id"].(string))); n != 1 {
					t.Errorf("conversation %v has %d auto-assignment events, want 1", conv["id"], n)
				}
			}
		})
	}
}
