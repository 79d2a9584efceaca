// Package events is the account event log seen from outside the database:
// what an event is, which types are public, and the hub that hands each
// committed event to the streams and effects of this instance.
//
// The store writes an account's events in the transaction that makes the
// change (see store/tx.go), numbered by a per-account position, and
// announces the new head once the transaction committed: in process, and
// on PostgreSQL by a NOTIFY that carries only the position. The hub reads
// the rows themselves, so an announcement that is lost or late loses
// nothing: the next one, or the hub's own poll, reads from where it was.
package events

import (
	"encoding/json"
	"time"

	"github.com/parleyhq/parley"
)

// Type names what changed.
type Type string

// The public types: streams send them and webhook endpoints subscribe to
// them (API.md, "Live updates and outbound webhooks").
const (
	ConversationCreated Type = "conversation.created"
	ConversationUpdated Type = "conversation.updated"
	MessageCreated      Type = "message.created"
	MessageUpdated      Type = "message.updated"
	NoteCreated         Type = "note.created"
	OutcomeCreated      Type = "outcome.created"
	OutcomeDeleted      Type = "outcome.deleted"
	SuggestionCreated   Type = "suggestion.created"
	CampaignUpdated     Type = "campaign.updated"
	NotificationCreated Type = "notification.created"
)

// Internal types drive effects in the instances and are never sent out.
const (
	// UserUpdated: a user's availability, role or state changed (capacity
	// may have freed), or one of their tokens was revoked (their open
	// streams look again at who they are).
	UserUpdated Type = "user.updated"
	// SettingsUpdated: the account's settings changed (auto-assignment may
	// have been switched on).
	SettingsUpdated Type = "settings.updated"
	// RoutingUpdated: a routing table was created, changed or deleted.
	RoutingUpdated Type = "routing.updated"
)

// PublicTypes are the types a client may stream or subscribe to, in the
// order API.md lists them.
var PublicTypes = []Type{
	ConversationCreated, ConversationUpdated, MessageCreated, MessageUpdated, NoteCreated,
	OutcomeCreated, OutcomeDeleted, SuggestionCreated, CampaignUpdated, NotificationCreated,
}

// Public reports whether t is sent to streams and webhooks.
func (t Type) Public() bool {
	for _, p := range PublicTypes {
		if p == t {
			return true
		}
	}
	return false
}

// Event is one entry of an account's log.
type Event struct {
	AccountID parley.ID
	// Seq is the event's position in its account's log: 1, 2, 3… in
	// commit order, with no gaps.
	Seq  int64
	Type Type
	// ConversationID is the conversation the event concerns, if any.
	ConversationID parley.ID
	// SubjectID is the thing the type names: the message, note, campaign,
	// notification, user or routing table (the conversation for
	// conversation.*).
	SubjectID parley.ID
	// ActorType and ActorID say who made the change: a user, the contact,
	// the system or the carrier.
	ActorType string
	ActorID   *parley.ID
	// Data is what the change was (for conversation.updated, the fields
	// that changed and their values before and after). Streams and
	// webhooks send the subject as a GET returns it, not this.
	Data json.RawMessage
	At   time.Time
}

// Announcement says a transaction committed an account's events First
// to Last. It is all a notification between instances carries: whoever
// cares reads the rows.
type Announcement struct {
	AccountID   parley.ID
	First, Last int64
	// Events, within the process that committed them, are the events
	// themselves: the hub need not read back what it was just handed.
	Events []Event
	// Deliveries is how many webhook deliveries the transaction booked
	// for these events, within the process that committed them;
	// DeliveriesUnknown where that cannot be told.
	Deliveries int
}

// DeliveriesUnknown is an Announcement's Deliveries when its transaction's
// bookings are not known: SQLite's trigger books them without saying, and
// a notification between instances carries positions only.
const DeliveriesUnknown = -1

// Listener hears of committed events.
type Listener interface {
	// Announced: a transaction committed an account's events First to Last.
	Announced(Announcement)
	// CatchUp: announcements may have been lost (a dropped connection);
	// read from where you were.
	CatchUp()
}

// Listeners are several listeners hearing the same announcements, in
// order.
type Listeners []Listener

func (ls Listeners) Announced(ann Announcement) {
	for _, l := range ls {
		l.Announced(ann)
	}
}

func (ls Listeners) CatchUp() {
	for _, l := range ls {
		l.CatchUp()
	}
}
