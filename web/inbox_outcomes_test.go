package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/outcomes"
)

// The Outcome filter shows the list's outcome words as its choice, and
// keeps what it cannot show for the form to send again.
func TestOutcomeFilterChoice(t *testing.T) {
	admin := conversations.User{ID: 1, AccountID: 1, Role: conversations.RoleAdmin}
	for _, tc := range []struct {
		query, outcome, keepAbsent string
		list                       []outcomes.Type
	}{
		{query: "", outcome: ""},
		{query: "outcome=invoice_paid", outcome: "invoice_paid"},
		{query: "outcome_absent=" + url.QueryEscape("quote_sent,quote_accepted,invoice_sent,invoice_paid,project_created,issue_resolved,lead_abandoned"),
			outcome: outcomeNone},
		{query: "outcome=quote_sent,invoice_paid", outcome: "quote_sent,invoice_paid", list: []outcomes.Type{outcomes.QuoteSent, outcomes.InvoicePaid}},
		{query: "outcome_absent=invoice_paid", outcome: "", keepAbsent: "invoice_paid"},
	} {
		q, _ := url.ParseQuery(tc.query)
		f, _, err := conversations.ParseListQuery(admin, q)
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		var d listData
		d.outcomeFilter(f, q)
		if d.Outcome != tc.outcome || d.KeepAbsent != tc.keepAbsent || !slices.Equal(d.OutcomeList, tc.list) ||
			(tc.query != "") != (d.Filtered == 1) {
			t.Errorf("?%s: choice %q, list %v, kept absent %q, %d filters; want %q, %v, %q", tc.query, d.Outcome, d.OutcomeList,
				d.KeepAbsent, d.Filtered, tc.outcome, tc.list, tc.keepAbsent)
		}
	}
}

// The form's "Without outcome" (outcome=none) becomes the API's
// outcome_absent= every type, keeping the list's other words.
func TestWithoutOutcomeRedirects(t *testing.T) {
	w := httptest.NewRecorder()
	if !withoutOutcome(w, httptest.NewRequest(http.MethodGet, "/inbox?status=new&outcome=none&q=roof", nil)) {
		t.Fatal("outcome=none was not redirected")
	}
	loc, _ := url.Parse(w.Header().Get("Location"))
	q := loc.Query()
	if w.Code != http.StatusSeeOther || loc.Path != "/inbox" || q.Has("outcome") || q.Get("status") != "new" || q.Get("q") != "roof" ||
		q.Get("outcome_absent") != "quote_sent,quote_accepted,invoice_sent,invoice_paid,project_created,issue_resolved,lead_abandoned" {
		t.Errorf("redirected %d to %s", w.Code, loc)
	}
	if withoutOutcome(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/inbox?outcome=invoice_paid", nil)) {
		t.Error("outcome=invoice_paid was redirected")
	}
}
