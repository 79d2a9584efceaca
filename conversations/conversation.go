package conversations

import (
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/outcomes"
)

// Status is where a conversation is in its life.
type Status string

// Statuses, see the state machine in DESIGN.md.
const (
	StatusNew      Status = "new"
	StatusOpen     Status = "open"
	StatusPending  Status = "pending"
	StatusSnoozed  Status = "snoozed"
	StatusResolved Status = "resolved"
	StatusClosed   Status = "closed"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusNew, StatusOpen, StatusPending, StatusSnoozed, StatusResolved, StatusClosed:
		return true
	}
	return false
}

// ResolvesIssue reports whether moving from one status to another settles
// the contact's issue: it becomes resolved from a live status. Tidying a
// closed conversation into resolved settles nothing new.
func ResolvesIssue(from, to Status) bool {
	return to == StatusResolved && from != StatusResolved && from != StatusClosed
}

// Priority orders work inside a queue.
type Priority string

// Priorities.
const (
	PriorityNone   Priority = "none"
	PriorityLow    Priority = "low"
	PriorityMedium Priority = "medium"
	PriorityHigh   Priority = "high"
	PriorityUrgent Priority = "urgent"
)

// Conversation is the thread between one channel and one contact phone.
type Conversation struct {
	ID            parley.ID
	AccountID     parley.ID
	InboxID       parley.ID
	ChannelID     parley.ID
	ContactID     parley.ID
	ContactName   string
	ContactPhone  string
	BusinessPhone string // the number the contact last texted; varies inside a messaging service
	Status        Status
	Priority      Priority
	AssigneeID    *parley.ID
	SnoozedUntil  *time.Time
	OptedOut      bool // the contact phone's account-wide consent
	// RevocationFlaggedAt is set when the contact wrote something that
	// reads like "stop texting me" without using a keyword: staff should
	// look, and may record an opt-out.
	RevocationFlaggedAt *time.Time
	// Revocation is that flag with its text, rule and reason; nil when
	// none is waiting.
	Revocation    *RevocationFlag
	LastMessageAt time.Time
	LastInboundAt *time.Time
	// Outcomes are the types of the outcomes it has (not deleted): the
	// inbox's indicator. LinksCount is how many records are linked to it.
	Outcomes   outcomes.Mask
	LinksCount int
	// Tags are the tags on it now, oldest applied first; FinalTag is the
	// final tag of its latest closed episode (nil: none, or never closed).
	Tags      []TagRef
	FinalTag  *TagRef
	CreatedAt time.Time
	UpdatedAt time.Time
}

// InboundTransition is what an inbound text does to a conversation.
type InboundTransition struct {
	Status        Status
	ClearAssignee bool
	Changed       bool
}

// OnInbound applies the state machine to an inbound text. exists is false
// when the text starts the conversation; keywordOnly is true when the text
// is only a consent keyword (STOP, START, HELP), which never creates work.
func OnInbound(current Status, exists, keywordOnly bool) InboundTransition {
	if !exists {
		if keywordOnly {
			return InboundTransition{Status: StatusResolved, Changed: true}
		}
		return InboundTransition{Status: StatusNew, Changed: true}
	}
	if keywordOnly {
		return InboundTransition{Status: current}
	}
	switch current {
	case StatusPending, StatusSnoozed, StatusResolved:
		return InboundTransition{Status: StatusOpen, Changed: true}
	case StatusClosed:
		return InboundTransition{Status: StatusNew, ClearAssignee: true, Changed: true}
	default: // new, open
		return InboundTransition{Status: current}
	}
}

// ConversationFilter selects conversations.
type ConversationFilter struct {
	AccountID    parley.ID
	Statuses     []Status
	InboxID      parley.ID
	AssigneeID   parley.ID
	Unassigned   bool
	ContactID    parley.ID
	ContactPhone string
	Priority     Priority // "" for any
	// Query matches message bodies and the contact's name (full-text,
	// the last word as a prefix) or the contact's phone.
	Query string
	// OutcomesAny keeps conversations with any of these outcome types;
	// OutcomesAbsent those with none of them (outcome=, outcome_absent=).
	OutcomesAny    outcomes.Mask
	OutcomesAbsent outcomes.Mask
	// TagID and TagType keep conversations that have that tag (or a tag
	// of that type) now; FinalTagID and FinalTagType those whose latest
	// closed episode closed with it (tag_id=, tag_type=, final_tag_id=,
	// final_tag_type=).
	TagID        *parley.ID
	TagType      TagType
	FinalTagID   *parley.ID
	FinalTagType TagType
	// RevocationFlagged keeps conversations with a flag waiting
	// (revocation_flagged=true).
	RevocationFlagged bool
	Page              Page
}

// Page is a keyset page request (see parley.Page).
type Page = parley.Page

// Page limits of API.md.
const (
	DefaultPageLimit = parley.DefaultPageLimit
	MaxPageLimit     = parley.MaxPageLimit
)

// EventType names an entry of a conversation's activity log.
type EventType string

// Event types.
const (
	EventCreated           EventType = "created"
	EventStatusChanged     EventType = "status_changed"
	EventAssigneeChanged   EventType = "assignee_changed"
	EventPriorityChanged   EventType = "priority_changed"
	EventOptedOut          EventType = "opted_out"
	EventOptedIn           EventType = "opted_in"
	EventHelpRequested     EventType = "help_requested"
	EventRevocationFlagged EventType = "revocation_flagged"
	// EventRevocationAnswered: staff recorded the opt-out a flag asked
	// for, or dismissed it (data: answer, rule, message_id).
	EventRevocationAnswered EventType = "revocation_answered"
	// Outcomes and links (outcomes/): data names the outcome or record.
	EventOutcomeAdded        EventType = "outcome_added"
	EventOutcomeDeleted      EventType = "outcome_deleted"
	EventRecordLinked        EventType = "record_linked"
	EventRecordUnlinked      EventType = "record_unlinked"
	EventSuggestionDismissed EventType = "suggestion_dismissed"
	// Tags: data names the tag.
	EventTagAdded   EventType = "tag_added"
	EventTagRemoved EventType = "tag_removed"
	// EventContactChanged: the thread shows another contact, or its
	// contact was renamed. A change streamed and sent to webhooks only:
	// the activity log does not keep it.
	EventContactChanged EventType = "contact_changed"
)

// ActorType says who caused an event.
type ActorType string

// Actor types.
const (
	ActorContact ActorType = "contact"
	ActorUser    ActorType = "user"
	ActorSystem  ActorType = "system"
	ActorCarrier ActorType = "carrier"
)

// Event is one entry of a conversation's append-only activity log.
type Event struct {
	ID             parley.ID
	AccountID      parley.ID
	ConversationID parley.ID
	Type           EventType
	ActorType      ActorType
	ActorID        *parley.ID
	Data           map[string]any
	CreatedAt      time.Time
}
