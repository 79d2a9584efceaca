package outcomes

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// Type is what happened: the fixed outcome types.
type Type string

// Outcome types, in API.md's order (a deal's usual course).
const (
	QuoteSent      Type = "quote_sent"
	QuoteAccepted  Type = "quote_accepted"
	InvoiceSent    Type = "invoice_sent"
	InvoicePaid    Type = "invoice_paid"
	ProjectCreated Type = "project_created"
	IssueResolved  Type = "issue_resolved"
	LeadAbandoned  Type = "lead_abandoned"
)

// Types lists the outcome types in order; a type's bit in a Mask is its
// index here, so the order is stored and must only grow at the end.
var Types = []Type{QuoteSent, QuoteAccepted, InvoiceSent, InvoicePaid, ProjectCreated, IssueResolved, LeadAbandoned}

// Valid reports whether t is an outcome type.
func (t Type) Valid() bool { return t.bit() != 0 }

func (t Type) bit() Mask {
	for i, x := range Types {
		if x == t {
			return 1 << i
		}
	}
	return 0
}

// RecordType is the type of record an outcome of type t must link to, if
// it links one: quotes for quote_*, invoices for invoice_*, projects for
// project_created; "" when any record (or none) fits.
func (t Type) RecordType() RecordType {
	switch t {
	case QuoteSent, QuoteAccepted:
		return RecordQuote
	case InvoiceSent, InvoicePaid:
		return RecordInvoice
	case ProjectCreated:
		return RecordProject
	}
	return ""
}

// Fits reports whether a record of type r may be linked to an outcome of
// type t.
func (t Type) Fits(r RecordType) bool {
	want := t.RecordType()
	return want == "" || want == r
}

// Mask is a set of outcome types: what a conversation has (the inbox's
// indicator and filter), stored as an integer on the conversation.
type Mask uint32

// MaskOf is the set of the given types.
func MaskOf(ts ...Type) Mask {
	var m Mask
	for _, t := range ts {
		m |= t.bit()
	}
	return m
}

// Has reports whether t is in the set.
func (m Mask) Has(t Type) bool { return m&t.bit() != 0 }

// Types lists the set's types in order.
func (m Mask) Types() []Type {
	out := []Type{}
	for _, t := range Types {
		if m.Has(t) {
			out = append(out, t)
		}
	}
	return out
}

// ParseTypes reads a comma list of outcome types ("invoice_paid,
// quote_accepted") as a set; ok is false when a word is not a type.
func ParseTypes(raw string) (Mask, bool) {
	var m Mask
	for _, w := range strings.Split(raw, ",") {
		t := Type(strings.TrimSpace(w))
		if !t.Valid() {
			return 0, false
		}
		m |= t.bit()
	}
	return m, true
}

// Source says how an outcome was recorded.
type Source string

// Sources.
const (
	SourceManual     Source = "manual"     // by staff in the inbox
	SourceSuggestion Source = "suggestion" // a suggestion a person accepted
	SourceAPI        Source = "api"        // by an integration's token
)

// Outcome is one fact about a conversation. Outcomes are appended, never
// edited; a deleted one keeps its row (who deleted it, when) and leaves
// reports and filters.
type Outcome struct {
	ID             parley.ID
	AccountID      parley.ID
	ConversationID parley.ID
	Type           Type
	Record         *Record
	Notes          string
	// Metadata is a JSON object; its amount and currency, when given,
	// override the record's amount in reports (Amount).
	Metadata       json.RawMessage
	Amount         *Money
	Source         Source
	SuggestionID   *parley.ID
	IdempotencyKey string
	CreatedBy      *parley.ID
	CreatedAt      time.Time
	DeletedBy      *parley.ID
	DeletedAt      *time.Time
}

// ReportAmount is what reports count for the outcome: its metadata's
// amount, else its record's, else none.
func (o Outcome) ReportAmount() *Money {
	if o.Amount != nil {
		return o.Amount
	}
	if o.Record != nil {
		return o.Record.Amount
	}
	return nil
}

// NewOutcome is an outcome to record (POST …/outcomes, or a suggestion's
// accept).
type NewOutcome struct {
	AccountID      parley.ID
	ConversationID parley.ID
	Type           Type
	RecordID       *parley.ID
	Notes          string
	Metadata       json.RawMessage
	Source         Source
	SuggestionID   *parley.ID
	IdempotencyKey string
	CreatedBy      *parley.ID
	At             time.Time
}

// Bounds of an outcome's notes, metadata and idempotency key.
const (
	MaxNotes          = 10_000
	MaxMetadata       = 16 << 10
	maxIdempotencyKey = 255
)

// Validate checks the outcome's own fields and returns the amount its
// metadata gives, if any. The record's fit is checked by FitRecord once
// the record is read.
func (n *NewOutcome) Validate() (*Money, error) {
	fields := map[string]string{}
	if absentMetadata(n.Metadata) {
		n.Metadata = json.RawMessage(`{}`)
	}
	if !n.Type.Valid() {
		fields["type"] = "must be one of " + strings.Join(typeNames(), ", ")
	}
	if len(n.Notes) > MaxNotes || !printable(n.Notes) {
		fields["notes"] = "must be at most 10000 bytes of text"
	}
	if len(n.IdempotencyKey) > maxIdempotencyKey {
		fields["Idempotency-Key"] = "must be at most 255 bytes"
	}
	money, field, msg := metadataAmount(n.Metadata)
	if field != "" {
		fields[field] = msg
	}
	if len(fields) > 0 {
		return nil, parley.Invalid(fields)
	}
	return money, nil
}

// absentMetadata reports metadata not given: empty, or JSON null (what a
// client sends for "none").
func absentMetadata(meta json.RawMessage) bool {
	t := bytes.TrimSpace(meta)
	return len(t) == 0 || string(t) == "null"
}

// FitRecord checks that a record may be linked to an outcome of type t:
// 422 naming record_id otherwise.
func FitRecord(t Type, r Record) error {
	if t.Fits(r.Type) {
		return nil
	}
	return parley.Invalid(map[string]string{"record_id": "is " + r.Type.withArticle() + "; " + string(t) + " takes " + t.RecordType().withArticle()})
}

// metadataAmount checks metadata (a JSON object of at most 16 KiB) and
// reads its amount (a decimal string or a number) and currency.
func metadataAmount(meta json.RawMessage) (m *Money, field, msg string) {
	if len(bytes.TrimSpace(meta)) == 0 {
		return nil, "", ""
	}
	if len(meta) > MaxMetadata {
		return nil, "metadata", "must be at most 16 KiB"
	}
	// encoding/json would replace invalid bytes, and the database refuses
	// them: the text must be UTF-8 as sent.
	if !utf8.Valid(meta) {
		return nil, "metadata", "must be a JSON object in UTF-8"
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(meta, &obj); err != nil || obj == nil {
		return nil, "metadata", "must be a JSON object"
	}
	raw, ok := obj["amount"]
	cur, hasCur := obj["currency"]
	if !ok && !hasCur {
		return nil, "", ""
	}
	var amount, currency string
	if ok {
		if err := json.Unmarshal(raw, &amount); err != nil {
			var n json.Number
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			if dec.Decode(&n) != nil {
				return nil, "metadata.amount", "must be a decimal string or a number"
			}
			amount = n.String()
		}
	}
	if hasCur && json.Unmarshal(cur, &currency) != nil {
		return nil, "metadata.currency", "must be an ISO 4217 code"
	}
	money, bad := ParseMoney(amount, currency)
	for k, v := range bad {
		return nil, "metadata." + k, v
	}
	return money, "", ""
}

func typeNames() []string {
	out := make([]string, len(Types))
	for i, t := range Types {
		out[i] = string(t)
	}
	return out
}
