package outcomes

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/parleyhq/parley"
)

// Metadata a database would refuse is the caller's error, naming the
// field; null is metadata not given.
func TestValidateMetadata(t *testing.T) {
	for _, c := range []struct {
		name, meta string
		field      string // the field named, "" when valid
	}{
		{"invalid UTF-8", "{\"note\": \"caf\xe9\"}", "metadata"},
		{"null", `null`, ""},
		{"a list", `[1]`, "metadata"},
		{"an object", `{"amount": "12.50", "currency": "EUR"}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := NewOutcome{Type: IssueResolved, Metadata: json.RawMessage(c.meta)}
			_, err := n.Validate()
			if c.field == "" {
				if err != nil {
					t.Fatalf("Validate(%q) = %v, want valid", c.meta, err)
				}
				return
			}
			var perr *parley.Error
			if !errors.As(err, &perr) || perr.Kind != parley.EINVALID || perr.Fields[c.field] == "" {
				t.Fatalf("Validate(%q) = %v, want invalid naming %s", c.meta, err, c.field)
			}
		})
	}
}

func TestNullMetadataIsAnEmptyObject(t *testing.T) {
	n := NewOutcome{Type: IssueResolved, Metadata: json.RawMessage(" null ")}
	money, err := n.Validate()
	if err != nil || money != nil || string(n.Metadata) != "{}" {
		t.Fatalf("Validate(null) = %v, %v with metadata %s, want no amount and {}", money, err, n.Metadata)
	}
}

// A suggestion without a record (issue_resolved) is answered by its type
// whatever the outcome links; one with a record only by that record.
func TestSuggestionSettledBy(t *testing.T) {
	quote, other := parley.ID(7), parley.ID(8)
	resolved := Suggestion{Type: IssueResolved}
	accepted := Suggestion{Type: QuoteAccepted, Record: &Record{ID: quote}}
	for _, c := range []struct {
		name   string
		s      Suggestion
		t      Type
		record *parley.ID
		want   bool
	}{
		{"no record, outcome without", resolved, IssueResolved, nil, true},
		{"no record, outcome with one", resolved, IssueResolved, &other, true},
		{"no record, another type", resolved, LeadAbandoned, nil, false},
		{"its record", accepted, QuoteAccepted, &quote, true},
		{"another record", accepted, QuoteAccepted, &other, false},
		{"no record given", accepted, QuoteAccepted, nil, false},
	} {
		if got := c.s.SettledBy(c.t, c.record); got != c.want {
			t.Errorf("%s: SettledBy = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestMayWriteRecords(t *testing.T) {
	if MayWriteRecords(false, false) {
		t.Error("an agent who sees only their conversations may write records")
	}
	if !MayWriteRecords(true, false) || !MayWriteRecords(false, true) {
		t.Error("an admin or a user who sees every conversation may not write records")
	}
}

// A record that does not fit the outcome's type is refused on record_id,
// in words: what the record is and what the type takes.
func TestFitRecordSaysWhatFits(t *testing.T) {
	for _, c := range []struct {
		t    Type
		r    RecordType
		want string // the record_id message, "" when it fits
	}{
		{InvoicePaid, RecordQuote, "is a quote; invoice_paid takes an invoice"},
		{QuoteSent, RecordInvoice, "is an invoice; quote_sent takes a quote"},
		{ProjectCreated, RecordAccount, "is an account; project_created takes a project"},
		{InvoiceSent, RecordInvoice, ""},
		{IssueResolved, RecordTicket, ""},
	} {
		err := FitRecord(c.t, Record{Type: c.r})
		var e *parley.Error
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s with %s: %v, want it to fit", c.t, c.r, err)
		case c.want != "" && (!errors.As(err, &e) || e.Fields["record_id"] != c.want):
			t.Errorf("%s with %s: %v, want record_id %q", c.t, c.r, err, c.want)
		}
	}
}
