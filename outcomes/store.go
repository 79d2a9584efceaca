package outcomes

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
)

// Store keeps records, links, outcomes and suggestions (the store package
// implements it). Every call is scoped to one account: an id of another
// account is ENOTFOUND. Who may see the conversation is the caller's
// check (conversations.CanSee), made before these calls.
//
// The store raises suggestions in the transaction of their cause, with
// the Proposals* rules of this package, skipping one that is pending
// already or whose outcome the conversation has; each writes
// suggestion.created and notifies the conversation's assignee.
type Store interface {
	// PutRecord upserts a record by (type, external_id); created is true
	// when it was new. linkTo, when set, also links it to that
	// conversation (ENOTFOUND naming conversation_id if not the
	// account's). A status change raises ProposalsForRecord on every
	// conversation the record is linked to; a new link ProposalsForLink.
	PutRecord(ctx context.Context, r Record, linkTo *parley.ID, by *parley.ID, at time.Time) (rec Record, created bool, err error)
	GetRecord(ctx context.Context, accountID, id parley.ID) (Record, error)
	// ListRecords pages by id, newest first; Query matches title and
	// external id (case-insensitive substring).
	ListRecords(ctx context.Context, f RecordFilter) ([]Record, error)

	// LinkRecord links a record to a conversation (created false when it
	// already was: a no-op) and raises ProposalsForLink.
	LinkRecord(ctx context.Context, accountID, conversationID, recordID parley.ID, by *parley.ID, at time.Time) (l Link, created bool, err error)
	UnlinkRecord(ctx context.Context, accountID, conversationID, recordID parley.ID, by *parley.ID, at time.Time) error
	ListLinks(ctx context.Context, accountID, conversationID parley.ID) ([]Link, error)

	// CreateOutcome records an outcome; amount is what its metadata gave
	// (NewOutcome.Validate). A record of another account is ENOTFOUND
	// naming record_id; one that does not fit the type EINVALID
	// (FitRecord). With an IdempotencyKey already used in the account it
	// returns the first outcome, created false. A pending suggestion of
	// the same (type, record) is settled as accepted by it.
	CreateOutcome(ctx context.Context, n NewOutcome, amount *Money) (o Outcome, created bool, err error)
	GetOutcome(ctx context.Context, accountID, id parley.ID) (Outcome, error)
	// ListOutcomes lists a conversation's outcomes not deleted, oldest
	// first.
	ListOutcomes(ctx context.Context, accountID, conversationID parley.ID) ([]Outcome, error)
	// DeleteOutcome soft-deletes an outcome; the conversation's activity
	// log says who deleted what.
	DeleteOutcome(ctx context.Context, accountID, id, by parley.ID, at time.Time) (Outcome, error)

	// ListSuggestions lists a conversation's pending suggestions, oldest
	// first.
	ListSuggestions(ctx context.Context, accountID, conversationID parley.ID) ([]Suggestion, error)
	GetSuggestion(ctx context.Context, accountID, id parley.ID) (Suggestion, error)
	// AcceptSuggestion turns a pending suggestion into an outcome (source
	// suggestion), with the notes, metadata and record the person chose;
	// ECONFLICT when it is no longer pending.
	AcceptSuggestion(ctx context.Context, accountID parley.ID, a Accept, amount *Money) (Outcome, error)
	// DismissSuggestion settles a pending suggestion as dismissed;
	// ECONFLICT when it is no longer pending.
	DismissSuggestion(ctx context.Context, accountID, id, by parley.ID, at time.Time) error
}
