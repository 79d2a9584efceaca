package optout

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
)

// Consent is a phone's account-wide consent. A phone with no record has
// never opted out and may be texted.
type Consent struct {
	Phone     string
	OptedOut  bool
	Keyword   string // the keyword of the last change, "" for staff or carrier changes
	MessageID *parley.ID
	ChangedAt *time.Time // nil when the phone never changed its consent
}

// Source says how a consent change was made.
type Source string

// Sources of consent changes.
const (
	SourceKeyword      Source = "keyword"       // the contact texted a keyword
	SourceStaff        Source = "staff"         // staff recorded an opt-out (POST /v1/optouts)
	SourceCarrierError Source = "carrier_error" // the carrier refused a send: recipient unsubscribed (Twilio 21610)
)

// Action is what a consent event did.
type Action string

// Consent actions.
const (
	ActionOptOut Action = "opt_out"
	ActionOptIn  Action = "opt_in"
)

// Change is one consent change to record.
type Change struct {
	AccountID parley.ID
	Phone     string
	Action    Action
	Source    Source
	Keyword   string
	MessageID *parley.ID // the inbound text that carried the keyword
	UserID    *parley.ID // the staff member, for SourceStaff
	Detail    string     // e.g. the carrier error code
	At        time.Time
}

// Event is one row of the append-only consent audit log.
type Event struct {
	ID        parley.ID
	Phone     string
	Action    Action
	Source    Source
	Keyword   string
	MessageID *parley.ID
	UserID    *parley.ID
	Detail    string
	CreatedAt time.Time
}

// Register is the account-wide consent register. Its log is append-only:
// nothing updates or deletes an event.
type Register interface {
	// GetConsent returns the phone's consent; a phone never seen is not opted out.
	GetConsent(ctx context.Context, accountID parley.ID, phone string) (Consent, error)
	// ListConsentEvents returns a page of the phone's audit log, oldest first.
	ListConsentEvents(ctx context.Context, accountID parley.ID, phone string, page parley.Page) (events []Event, nextCursor string, err error)
	// RecordConsent applies a change and logs it. changed is false when the
	// phone already was in that state; the event is logged either way.
	RecordConsent(ctx context.Context, c Change) (changed bool, err error)
}
