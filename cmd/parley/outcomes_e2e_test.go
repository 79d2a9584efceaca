package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parleyhq/parley/store/storetest"
)

// callWithHeader is call with one more request header (Idempotency-Key).
func (e *env) callWithHeader(token, method, path string, body any, header, value string) response {
	e.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set(header, value)
	res, err := checkedClient(e.t).Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: out}
}

// list reads a list route as the admin and returns its rows.
func (e *env) list(path string) []map[string]any {
	e.t.Helper()
	res := e.admin("GET", path, nil)
	e.must(200, res)
	return res.Data()
}

// An integration writes a quote and links it to a thread; staff and the
// integration record what the conversation led to; Parley suggests the
// outcomes a record's change implies and only a person's accept adds
// them. Every answer is checked against openapi.json by the harness.
func TestOutcomesThroughTheAPI(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect))
			e.setupChannel(nil)
			me := e.must(200, e.admin("GET", "/v1/me", nil))
			conv := e.staffThread("+14155550100", "Could you quote the kitchen?")
			convID := conv["id"].(string)
			other := e.staffThread("+14155550101", "And the bathroom?")
			otherID := other["id"].(string)
			stream := e.openStream(e.token, "", "")
			ann, annToken, _ := e.addStaff("ann@example.com", "agent", false)
			annStream := e.openStream(annToken, "", "")

			// The integration's idempotent write: created, then the same.
			quoteBody := map[string]any{"title": "Kitchen remodel", "status": "sent", "amount": "5000.00", "currency": "USD",
				"url": "https://crm.example.com/q/100", "conversation_id": convID}
			quote := e.must(201, e.admin("PUT", "/v1/records/quote/Q-100", quoteBody))
			quoteID := quote["id"].(string)
			if quote["amount"] != "5000.00" || quote["currency"] != "USD" || quote["status"] != "sent" || quote["external_id"] != "Q-100" {
				t.Errorf("the quote = %v", quote)
			}
			again := e.must(200, e.admin("PUT", "/v1/records/quote/Q-100", quoteBody))
			if again["id"] != quoteID {
				t.Errorf("the second PUT made record %v, want the same %v", again["id"], quoteID)
			}
			if got := e.must(200, e.admin("GET", "/v1/records/"+quoteID, nil)); !sameJSON(got, again) {
				t.Errorf("GET the record = %v, want %v", got, again)
			}
			// Numbers with slashes (INV/2026/0001), percent-encoded, are
			// one id.
			slashed := map[string]any{"title": "Odoo style", "amount": "10.00", "currency": "EUR"}
			inv := e.must(201, e.admin("PUT", "/v1/records/invoice/INV%2F2026%2F0001", slashed))
			if inv["external_id"] != "INV/2026/0001" {
				t.Errorf("an invoice number with slashes reads %v", inv["external_id"])
			}
			if got := e.must(200, e.admin("PUT", "/v1/records/invoice/INV%2F2026%2F0001", slashed)); got["id"] != inv["id"] {
				t.Errorf("the same number again made record %v, want %v", got["id"], inv["id"])
			}
			// Not cleaned into another id's path (a redirect, before).
			for raw, want := range map[string]string{"A%2F%2FB": "A//B", "%2FX": "/X", "A%2F..%2FB": "A/../B"} {
				if got := e.must(201, e.admin("PUT", "/v1/records/invoice/"+raw, slashed)); got["external_id"] != want {
					t.Errorf("PUT …/invoice/%s wrote %v, want %s", raw, got["external_id"], want)
				}
			}
			if rows := e.list("/v1/records?type=quote&q=kitchen"); len(rows) != 1 || rows[0]["id"] != quoteID {
				t.Errorf("records of type quote matching kitchen = %v", rows)
			}
			links := e.list("/v1/conversations/" + convID + "/links")
			if len(links) != 1 || links[0]["record"].(map[string]any)["id"] != quoteID {
				t.Fatalf("links = %v, want the quote", links)
			}
			e.must(200, e.admin("POST", "/v1/conversations/"+convID+"/links", map[string]any{"record_id": quoteID}))

			// quote_sent with its amount in metadata; a replay is the same
			// outcome, the key on another thread a conflict.
			sent := map[string]any{"type": "quote_sent", "record_id": quoteID, "notes": "Sent by email",
				"metadata": map[string]any{"amount": "4800.50", "currency": "USD"}}
			first := e.must(201, e.callWithHeader(e.token, "POST", "/v1/conversations/"+convID+"/outcomes", sent, "Idempotency-Key", "crm-1"))
			if first["source"] != "api" || first["type"] != "quote_sent" || first["created_by"] != me["id"] {
				t.Errorf("the outcome = %v, want quote_sent from the api by the admin", first)
			}
			if rec, _ := first["record"].(map[string]any); rec["id"] != quoteID || rec["amount"] != "5000.00" {
				t.Errorf("the outcome's record = %v", first["record"])
			}
			replay := e.must(201, e.callWithHeader(e.token, "POST", "/v1/conversations/"+convID+"/outcomes", sent, "Idempotency-Key", "crm-1"))
			if replay["id"] != first["id"] {
				t.Errorf("the replay made outcome %v, want the first %v", replay["id"], first["id"])
			}
			wantAPIError(t, e.callWithHeader(e.token, "POST", "/v1/conversations/"+otherID+"/outcomes", sent, "Idempotency-Key", "crm-1"),
				409, "idempotency_key_reused")
			outs := e.list("/v1/conversations/" + convID + "/outcomes")
			if len(outs) != 1 || !sameJSON(outs[0], first) {
				t.Fatalf("outcomes = %v, want only %v", outs, first)
			}
			created := stream.until("outcome.created", ofType("outcome.created"))
			if got := created[len(created)-1].JSON(); !sameJSON(got, first) {
				t.Errorf("outcome.created streamed %v, want the outcome as GET lists it %v", got, first)
			}

			// The quote is accepted in the CRM: Parley suggests, a person
			// accepts.
			quoteBody["status"] = "accepted"
			e.must(200, e.admin("PUT", "/v1/records/quote/Q-100", quoteBody))
			sugs := e.list("/v1/conversations/" + convID + "/suggestions")
			if len(sugs) != 1 || sugs[0]["type"] != "quote_accepted" || sugs[0]["record"].(map[string]any)["id"] != quoteID {
				t.Fatalf("suggestions = %v, want quote_accepted of the quote", sugs)
			}
			raised := stream.until("suggestion.created", ofType("suggestion.created"))
			if got := raised[len(raised)-1].JSON(); !sameJSON(got, sugs[0]) {
				t.Errorf("suggestion.created streamed %v, want %v", got, sugs[0])
			}
			accepted := e.must(201, e.admin("POST", "/v1/suggestions/"+sugs[0]["id"].(string)+"/accept", map[string]any{"notes": "Signed"}))
			if accepted["source"] != "suggestion" || accepted["suggestion_id"] != sugs[0]["id"] || accepted["type"] != "quote_accepted" || accepted["notes"] != "Signed" {
				t.Errorf("the accepted outcome = %v", accepted)
			}
			if sugs := e.list("/v1/conversations/" + convID + "/suggestions"); len(sugs) != 0 {
				t.Errorf("suggestions after the accept = %v, want none", sugs)
			}
			wantAPIError(t, e.admin("POST", "/v1/suggestions/"+sugs[0]["id"].(string)+"/dismiss", nil), 409, "")

			// An invoice is paid: the suggestion is dismissed, nothing added.
			invoiceBody := map[string]any{"title": "Invoice 7", "status": "sent", "amount": "5000.00", "currency": "USD", "conversation_id": convID}
			invoice := e.must(201, e.admin("PUT", "/v1/records/invoice/INV-7", invoiceBody))
			invoiceBody["status"] = "paid"
			e.must(200, e.admin("PUT", "/v1/records/invoice/INV-7", invoiceBody))
			sugs = e.list("/v1/conversations/" + convID + "/suggestions")
			if len(sugs) != 1 || sugs[0]["type"] != "invoice_paid" || sugs[0]["record"].(map[string]any)["id"] != invoice["id"] {
				t.Fatalf("suggestions = %v, want invoice_paid of the invoice", sugs)
			}
			e.must(204, e.admin("POST", "/v1/suggestions/"+sugs[0]["id"].(string)+"/dismiss", nil))
			if sugs := e.list("/v1/conversations/" + convID + "/suggestions"); len(sugs) != 0 {
				t.Errorf("suggestions after the dismiss = %v, want none", sugs)
			}
			for _, o := range e.list("/v1/conversations/" + convID + "/outcomes") {
				if o["type"] == "invoice_paid" {
					t.Errorf("a dismissed suggestion became an outcome: %v", o)
				}
			}

			// A quote does not fit invoice_paid.
			wantAPIError(t, e.admin("POST", "/v1/conversations/"+convID+"/outcomes", map[string]any{"type": "invoice_paid", "record_id": quoteID}),
				422, "", "record_id")
			wantAPIError(t, e.admin("POST", "/v1/conversations/"+convID+"/outcomes", "{"), 400, "")

			// An agent who may not see the thread is refused there, as on
			// the thread itself; an outcome of it is not found.
			wantAPIError(t, e.call(annToken, "GET", "/v1/conversations/"+convID, nil), 403, "forbidden")
			for _, path := range []string{"/outcomes", "/links", "/suggestions"} {
				wantAPIError(t, e.call(annToken, "GET", "/v1/conversations/"+convID+path, nil), 403, "forbidden")
			}
			wantAPIError(t, e.call(annToken, "POST", "/v1/conversations/"+convID+"/outcomes", map[string]any{"type": "lead_abandoned"}), 403, "forbidden")
			wantAPIError(t, e.call(annToken, "DELETE", "/v1/outcomes/"+first["id"].(string), nil), 404, "not_found")

			// Another account sees none of it.
			acme := e.staffSecondAccount()
			wantAPIError(t, e.call(acme, "GET", "/v1/records/"+quoteID, nil), 404, "not_found")
			wantAPIError(t, e.call(acme, "DELETE", "/v1/outcomes/"+first["id"].(string), nil), 404, "not_found")
			if res := e.call(acme, "GET", "/v1/records", nil); res.Status != 200 || len(res.Data()) != 0 {
				t.Errorf("another account's records = %d %s, want none", res.Status, res.Body)
			}

			// Deleting an outcome takes it off the list; the thread's log
			// says who deleted it.
			e.must(204, e.admin("DELETE", "/v1/outcomes/"+first["id"].(string), nil))
			for _, o := range e.list("/v1/conversations/" + convID + "/outcomes") {
				if o["id"] == first["id"] {
					t.Errorf("the deleted outcome is still listed: %v", o)
				}
			}
			deleted := staffEventsOf(e.staffEvents(convID), "outcome_deleted")
			if len(deleted) != 1 || deleted[0]["actor_id"] != me["id"] {
				t.Errorf("outcome_deleted events = %v, want one by the admin %v", deleted, me["id"])
			}
			gone := stream.until("outcome.deleted", ofType("outcome.deleted"))
			if got := gone[len(gone)-1].JSON(); got["id"] != first["id"] {
				t.Errorf("outcome.deleted streamed %v, want outcome %v", got, first["id"])
			}
			wantAPIError(t, e.admin("DELETE", "/v1/outcomes/"+first["id"].(string), nil), 404, "not_found")

			// Ann streamed none of it; her stream is caught up once it
			// shows her the thread assigned to her since.
			e.staffAssign(otherID, ann["id"].(string))
			annStream.until("Ann's assignment", func(ev sseEvent) bool { return inConversation(ev, otherID) })
			for _, ev := range annStream.events() {
				if strings.HasPrefix(ev.Type, "outcome.") || strings.HasPrefix(ev.Type, "suggestion.") {
					t.Errorf("Ann, who may not see the thread, streamed %s %s", ev.Type, ev.Data)
				}
			}
		})
	}
}

// What the outcomes API refuses, and the suggestions a resolve and a
// project's link raise through it: records are written only by those who
// see every conversation, whatever the login; a conversation or record
// the caller may not see is not found; malformed metadata is 422.
func TestOutcomesAPIRefusesAndRaises(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect))
			e.setupChannel(nil)
			convID := e.staffThread("+14155550100", "The sink leaks")["id"].(string)
			sam, samToken, _ := e.addStaff("sam@example.com", "agent", false)
			_, annToken, _ := e.addStaff("ann@example.com", "agent", false)
			_, vivToken, _ := e.addStaff("viv@example.com", "agent", true)
			e.staffAssign(convID, sam["id"].(string))

			// An agent's own token writes no record; one who sees every
			// conversation may.
			project := map[string]any{"title": "Sink repair", "conversation_id": convID}
			wantAPIError(t, e.call(samToken, "PUT", "/v1/records/project/P-1", project), 403, "")
			wantAPIError(t, e.call(annToken, "PUT", "/v1/records/project/P-1", project), 403, "")
			if rows := e.list("/v1/records"); len(rows) != 0 {
				t.Fatalf("after the agents' refused writes the records are %v", rows)
			}
			e.must(201, e.call(vivToken, "PUT", "/v1/records/ticket/T-1", map[string]any{"title": "Leak"}))

			// Resolving raises issue_resolved; a project linked by its PUT
			// raises project_created.
			e.must(200, e.admin("POST", "/v1/conversations/"+convID+"/resolve", nil))
			proj := e.must(201, e.admin("PUT", "/v1/records/project/P-1", project))
			sugs := e.list("/v1/conversations/" + convID + "/suggestions")
			if len(sugs) != 2 || sugs[0]["type"] != "issue_resolved" || sugs[0]["record"] != nil ||
				sugs[1]["type"] != "project_created" || sugs[1]["record"].(map[string]any)["id"] != proj["id"] {
				t.Fatalf("suggestions = %v, want issue_resolved, then project_created of P-1", sugs)
			}

			// The assignee hears of them.
			suggested := 0
			for _, n := range e.staffNotifications(samToken) {
				if n["kind"] == "outcome_suggested" && n["conversation_id"] == convID {
					suggested++
				}
			}
			if suggested != 2 {
				t.Errorf("Sam has %d outcome_suggested notifications, want 2", suggested)
			}

			// An agent who may not see the thread can decide nothing on it.
			resolved, created := sugs[0]["id"].(string), sugs[1]["id"].(string)
			wantAPIError(t, e.call(annToken, "POST", "/v1/suggestions/"+resolved+"/accept", map[string]any{}), 404, "not_found")
			wantAPIError(t, e.call(annToken, "POST", "/v1/suggestions/"+created+"/dismiss", nil), 404, "not_found")
			outcome := e.must(201, e.admin("POST", "/v1/conversations/"+convID+"/outcomes", map[string]any{"type": "lead_abandoned", "metadata": nil}))
			if meta, ok := outcome["metadata"].(map[string]any); !ok || len(meta) != 0 {
				t.Errorf("an outcome with null metadata has metadata %v, want {}", outcome["metadata"])
			}
			wantAPIError(t, e.call(annToken, "DELETE", "/v1/outcomes/"+outcome["id"].(string), nil), 404, "not_found")
			if sugs := e.list("/v1/conversations/" + convID + "/suggestions"); len(sugs) != 2 {
				t.Errorf("after the agent's refused decisions, suggestions = %v, want both", sugs)
			}

			// Malformed metadata and unknown currencies are the caller's.
			outcomes := "/v1/conversations/" + convID + "/outcomes"
			big := map[string]any{"type": "lead_abandoned", "metadata": map[string]any{"note": strings.Repeat("x", 16<<10)}}
			wantAPIError(t, e.admin("POST", outcomes, big), 422, "", "metadata")
			wantAPIError(t, e.admin("POST", outcomes, map[string]any{"type": "lead_abandoned", "metadata": []int{1}}), 422, "", "metadata")
			wantAPIError(t, e.admin("POST", outcomes, "{\"type\": \"lead_abandoned\", \"metadata\": {\"note\": \"caf\xe9\"}}"), 422, "", "metadata")
			wantAPIError(t, e.admin("POST", outcomes, map[string]any{"type": "lead_abandoned", "metadata": map[string]any{"amount": "10", "currency": "QQQ"}}),
				422, "", "metadata.currency")
			wantAPIError(t, e.admin("PUT", "/v1/records/quote/Q-1", map[string]any{"title": "Q", "amount": "10", "currency": "QQQ"}), 422, "", "currency")
			for _, at := range []any{"yesterday", 123} {
				res := e.admin("PUT", "/v1/records/quote/Q-1", map[string]any{"title": "Q", "occurred_at": at})
				wantAPIError(t, res, 422, "", "occurred_at")
				if strings.Contains(string(res.Body), "2006-01-02") || strings.Contains(string(res.Body), "UnmarshalJSON") {
					t.Errorf("occurred_at %v: the error shows the parser's internals: %s", at, res.Body)
				}
			}

			// Another account's record and conversation are not found.
			acme := e.staffSecondAccount()
			foreign := e.must(201, e.call(acme, "PUT", "/v1/records/quote/A-1", map[string]any{"title": "Acme's"}))
			wantAPIError(t, e.admin("POST", "/v1/conversations/"+convID+"/links", map[string]any{"record_id": foreign["id"]}), 404, "not_found")
			wantAPIError(t, e.admin("POST", outcomes, map[string]any{"type": "quote_sent", "record_id": foreign["id"]}), 404, "not_found", "record_id")
			wantAPIError(t, e.call(acme, "PUT", "/v1/records/quote/A-2", map[string]any{"title": "Acme's", "conversation_id": convID}),
				404, "not_found", "conversation_id")
			if links := e.list("/v1/conversations/" + convID + "/links"); len(links) != 1 {
				t.Errorf("links = %v, want P-1 alone", links)
			}
		})
	}
}
