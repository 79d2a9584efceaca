package main

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley/outcomes"
	"github.com/parleyhq/parley/store/storetest"
)

// setOutcomes gives the conversation of phone an outcome set and a link
// count, as recording and deleting outcomes keeps them (outcomes/).
func (e *env) setOutcomes(phone string, links int, types ...outcomes.Type) {
	e.t.Helper()
	db := e.rawSQL()
	if _, err := db.Exec(db.Rebind(`UPDATE conversations SET outcome_mask = ?, links_count = ? WHERE contact_phone = ?`),
		int64(outcomes.MaskOf(types...)), links, phone); err != nil {
		e.t.Fatal(err)
	}
}

// everyOutcome is every outcome type as a query's comma list.
func everyOutcome() string {
	var types []string
	for _, t := range outcomes.Types {
		types = append(types, string(t))
	}
	return strings.Join(types, ",")
}

// TestConversationListByOutcome: GET /v1/conversations?outcome= lists the
// conversations with any of the types, outcome_absent= those with none,
// with the other filters and a search; each conversation shows its
// outcome types and links, on the stream too; a word that is not a type is 422 naming the
// parameter.
func TestConversationListByOutcome(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect))
			e.setupChannel(nil)
			const quoted, paid, lost, plain = "+14155550801", "+14155550802", "+14155550803", "+14155550804"
			e.text(quoted, "a quote for the roof please")
			e.text(paid, "the quote is fine, invoice me")
			e.text(lost, "too expensive, sorry")
			e.text(plain, "what are your hours?")
			e.setOutcomes(quoted, 1, outcomes.QuoteSent)
			e.setOutcomes(paid, 2, outcomes.QuoteSent, outcomes.InvoicePaid)
			e.setOutcomes(lost, 0, outcomes.LeadAbandoned)
			e.must(200, e.admin("POST", "/v1/conversations/"+e.conversationOf(lost)["id"].(string)+"/resolve", nil))

			phones := func(query string) []string {
				t.Helper()
				var got []string
				for _, c := range e.must(200, e.admin("GET", "/v1/conversations?"+query, nil))["data"].([]any) {
					got = append(got, c.(map[string]any)["contact_phone"].(string))
				}
				return got
			}
			for _, tc := range []struct {
				query string
				want  []string
			}{
				{"outcome=invoice_paid", []string{paid}},
				{"outcome=quote_sent,lead_abandoned", []string{lost, paid, quoted}},
				{"outcome_absent=" + everyOutcome(), []string{plain}},
				{"outcome=quote_sent&outcome_absent=invoice_paid", []string{quoted}},
				{"outcome_absent=invoice_paid&status=resolved", []string{lost}},
				{"outcome=quote_sent&status=resolved", nil},
				{"outcome=quote_sent&q=roof", []string{quoted}},
				{"outcome_absent=quote_sent&q=quote", nil},
				{"outcome=project_created", nil},
			} {
				if got := phones(tc.query); !slices.Equal(got, tc.want) {
					t.Errorf("?%s lists %v, want %v", tc.query, got, tc.want)
				}
			}

			// A conversation shows its outcome types, in the types' order,
			// and how many records are linked; none is an empty array.
			res := e.admin("GET", "/v1/conversations?outcome=invoice_paid", nil)
			c := e.must(200, res)["data"].([]any)[0].(map[string]any)
			if fmt.Sprint(c["outcomes"]) != "[quote_sent invoice_paid]" || c["links_count"] != float64(2) {
				t.Errorf("the paid conversation shows outcomes %v and links_count %v", c["outcomes"], c["links_count"])
			}
			one := e.must(200, e.admin("GET", "/v1/conversations/"+c["id"].(string), nil))
			if fmt.Sprint(one["outcomes"]) != "[quote_sent invoice_paid]" {
				t.Errorf("GET the conversation shows outcomes %v", one["outcomes"])
			}
			res = e.admin("GET", "/v1/conversations?outcome_absent="+everyOutcome(), nil)
			if e.must(200, res); !strings.Contains(string(res.Body), `"outcomes":[]`) || !strings.Contains(string(res.Body), `"links_count":0`) {
				t.Errorf("a conversation without outcomes reads %s; want outcomes [] and links_count 0", res.Body)
			}

			// The stream's conversation objects show them too.
			stream := e.openStream(e.token, "", "")
			e.must(200, e.admin("PATCH", "/v1/conversations/"+c["id"].(string), map[string]any{"priority": "high"}))
			evs := stream.until("the paid conversation's update", func(ev sseEvent) bool {
				return ev.Type == "conversation.updated" && ev.JSON()["id"] == c["id"]
			})
			if got := evs[len(evs)-1].JSON(); fmt.Sprint(got["outcomes"]) != "[quote_sent invoice_paid]" || got["links_count"] != float64(2) {
				t.Errorf("conversation.updated shows outcomes %v and links_count %v", got["outcomes"], got["links_count"])
			}

			// Its invoice_paid deleted, the conversation leaves the list.
			e.setOutcomes(paid, 2, outcomes.QuoteSent)
			if got := phones("outcome=invoice_paid"); len(got) != 0 {
				t.Errorf("outcome=invoice_paid after the delete lists %v", got)
			}

			for _, bad := range []struct{ query, field string }{
				{"outcome=quote_paid", "outcome"},
				{"outcome=invoice_paid,,", "outcome"},
				{"outcome_absent=" + url.QueryEscape("Invoice Paid"), "outcome_absent"},
			} {
				r := e.admin("GET", "/v1/conversations?"+bad.query, nil)
				fields, _ := e.must(422, r)["error"].(map[string]any)["fields"].(map[string]any)
				if len(fields) != 1 || !strings.Contains(fmt.Sprint(fields[bad.field]), "outcome types") {
					t.Errorf("?%s: 422 names %v; want %s alone", bad.query, fields, bad.field)
				}
			}
		})
	}
}

// TestWebInboxOutcomeFilter: the inbox shows each conversation's outcomes
// on its row, and the Outcome filter lists the conversations with one
// type, or without any, keeping the other filters and live updates.
func TestWebInboxOutcomeFilter(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect))
			e.setupChannel(nil)
			const quoted, paid, plain, later = "+14155550811", "+14155550812", "+14155550813", "+14155550814"
			e.text(quoted, "Can I get a quote?")
			e.text(paid, "Paid the invoice")
			e.text(plain, "Just saying hi")
			e.setOutcomes(quoted, 1, outcomes.QuoteSent)
			e.setOutcomes(paid, 2, outcomes.QuoteSent, outcomes.InvoicePaid)

			a := e.browser()
			admin := e.adminMember()
			a.signIn(admin.Email, admin.Password)
			a.open("/inbox?status=new")
			waitListRows(a, plain, paid, quoted)
			chips := "[...document.querySelectorAll('.convs .conv')].map(r => [...r.querySelectorAll('.badge.outcome')].map(b => b.textContent.trim()).join('+')).join('|')"
			if got := eval[string](a, chips); got != "|Outcome Quote sent+Outcome Invoice paid|Outcome Quote sent" {
				t.Errorf("the rows' outcome chips read %q", got)
			}

			choose := func(value string) {
				t.Helper()
				a.click(".list-more summary")
				js := fmt.Sprintf(`(() => { const s = document.getElementById('list-outcome'); s.value = %q;
  s.dispatchEvent(new Event('change', {bubbles: true})); return s.value; })()`, value)
				if got := eval[string](a, js); got != value {
					t.Fatalf("the Outcome filter has no choice %q", value)
				}
			}
			choose("invoice_paid")
			waitListRows(a, paid)
			if got := eval[string](a, "location.search"); !strings.Contains(got, "outcome=invoice_paid") || !strings.Contains(got, "status=new") {
				t.Errorf("the list's URL is %q; want the outcome and the status in it", got)
			}
			if got := a.text(".convs .conv"); !strings.Contains(got, "Invoice paid") {
				t.Errorf("the paid row shows %q, without its chip", got)
			}

			choose("none")
			waitListRows(a, plain)
			if got := eval[string](a, "new URLSearchParams(location.search).get('outcome_absent')"); got != everyOutcome() {
				t.Errorf("Without outcome lists outcome_absent=%q, want every type", got)
			}
			if got := eval[string](a, "document.getElementById('list-outcome').value"); got != "none" {
				t.Errorf("the Outcome filter shows %q after choosing Without outcome", got)
			}

			// A new conversation arrives live in the filtered list, which
			// keeps its filter; so does a status tab.
			waitListStream(a)
			e.text(later, "New here")
			waitListRows(a, later, plain)
			a.click(".list-statuses a:first-child")
			waitListRows(a, later, plain)
			if got := eval[string](a, "location.search"); !strings.Contains(got, "outcome_absent=") {
				t.Errorf("the status tab dropped the outcome filter: %q", got)
			}
		})
	}
}
