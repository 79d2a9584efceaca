package outcomes

import (
	"time"

	"github.com/parleyhq/parley"
)

// SuggestionState is where a suggestion stands.
type SuggestionState string

// Suggestion states.
const (
	SuggestionPending   SuggestionState = "pending"
	SuggestionAccepted  SuggestionState = "accepted"
	SuggestionDismissed SuggestionState = "dismissed"
)

// Suggestion is an outcome Parley thinks happened, waiting for a person
// to add it (accept, possibly edited) or dismiss it. There is at most one
// pending suggestion per (conversation, type, record), and none for an
// outcome the conversation already has.
type Suggestion struct {
	ID             parley.ID
	AccountID      parley.ID
	ConversationID parley.ID
	Type           Type
	Record         *Record
	Reason         string
	State          SuggestionState
	OutcomeID      *parley.ID
	DecidedBy      *parley.ID
	DecidedAt      *time.Time
	CreatedAt      time.Time
}

// Proposal is a suggestion a change raises, before the store checks it
// is not a duplicate.
type Proposal struct {
	Type     Type
	RecordID *parley.ID
	Reason   string
}

// ProposalsForRecord is what a record's write raises on each conversation
// it is linked to: a quote whose status became accepted → quote_accepted,
// an invoice whose status became paid → invoice_paid. before is the
// record before the write (nil when new).
func ProposalsForRecord(before *Record, after Record) []Proposal {
	if before != nil && before.Status == after.Status {
		return nil
	}
	id := after.ID
	switch {
	case after.Type == RecordQuote && after.Status == StatusAccepted:
		return []Proposal{{Type: QuoteAccepted, RecordID: &id, Reason: "Quote " + after.Title + " was accepted"}}
	case after.Type == RecordInvoice && after.Status == StatusPaid:
		return []Proposal{{Type: InvoicePaid, RecordID: &id, Reason: "Invoice " + after.Title + " was paid"}}
	}
	return nil
}

// ProposalsForLink is what linking a record to a conversation raises: a
// project linked to the conversation was created from it →
// project_created. A quote already accepted or an invoice already paid
// raises the same as its status change would.
func ProposalsForLink(r Record) []Proposal {
	if r.Type == RecordProject {
		id := r.ID
		return []Proposal{{Type: ProjectCreated, RecordID: &id, Reason: "Project " + r.Title + " was created from this conversation"}}
	}
	return ProposalsForRecord(nil, r)
}

// ProposalsForResolve is what resolving a conversation raises.
func ProposalsForResolve() []Proposal {
	return []Proposal{{Type: IssueResolved, Reason: "The conversation was resolved"}}
}

// Accept is a person's accept of a suggestion: notes and metadata as
// edited, and optionally another record of the fitting type.
type Accept struct {
	SuggestionID parley.ID
	Notes        string
	Metadata     []byte
	RecordID     *parley.ID
	By           parley.ID
	At           time.Time
}

// SettledBy reports whether recording an outcome of type t with the
// record recordID (nil for none) settles the pending suggestion s: the
// same type, and the same record unless s names none (issue_resolved is
// answered by an issue_resolved outcome whatever record it links).
func (s Suggestion) SettledBy(t Type, recordID *parley.ID) bool {
	if s.Type != t {
		return false
	}
	return s.Record == nil || (recordID != nil && *recordID == s.Record.ID)
}
