package web

import (
	"bytes"
	"regexp"
	"testing"
	"time"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/outcomes"
)

// Without the script, a suggestion under review still offers only the
// records its type takes: a quote_accepted review selects its quote and
// leaves the linked invoice out of the choice.
func TestOutcomesPaneReviewOffersFittingRecords(t *testing.T) {
	p, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	quote := outcomes.Record{ID: 11, Type: outcomes.RecordQuote, ExternalID: "Q-1", Title: "Patio"}
	invoice := outcomes.Record{ID: 12, Type: outcomes.RecordInvoice, ExternalID: "INV-1", Title: "Patio invoice"}
	d := &outcomesData{Conv: conversations.Conversation{ID: 7}, URL: "/inbox/conversations/7", Src: "/inbox/conversations/7?pane=outcomes",
		Links:       []outcomes.Link{{Record: quote}, {Record: invoice}},
		Suggestions: []outcomes.Suggestion{{ID: 5, Type: outcomes.QuoteAccepted, Record: &quote, Reason: "Quote Patio was accepted", CreatedAt: time.Now()}},
		Types:       outcomes.Types, RecordTypes: outcomes.RecordTypes, Choices: []outcomes.Record{quote, invoice}}
	d.review("5")
	var buf bytes.Buffer
	v := view{Data: inboxData{Thread: &threadData{Outcomes: d}}}
	if err := p.byName["inbox"].ExecuteTemplate(&buf, "pane:outcomes", v); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, want := range []string{
		`action="/inbox/conversations/7/suggestions/5/accept"`,
		`<option value="11" data-record-type="quote" selected>`,
		`<option value="12" data-record-type="invoice" hidden disabled>`,
		`data-src="/inbox/conversations/7?pane=outcomes&amp;review=5"`,
	} {
		if !bytes.Contains(buf.Bytes(), []byte(want)) {
			t.Errorf("the pane lacks %s", want)
		}
	}
	// The review fixes the type: only quote_accepted is offered.
	if n := len(regexp.MustCompile(`<option value="[a-z_]+" data-record-type=`).FindAllString(html, -1)); n != 1 {
		t.Errorf("the type select offers %d types under review, want 1", n)
	}
}
