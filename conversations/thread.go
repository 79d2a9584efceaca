package conversations

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
)

// ThreadPage is one stretch of a conversation as staff read it: its texts
// and notes, and the activity-log entries of the same stretch of time.
type ThreadPage struct {
	// Conversation is its state as of the same moment as the page: a
	// thread showing an assignment is never rendered as still unassigned.
	Conversation Conversation
	Messages     []Message // oldest first
	Events       []Event   // oldest first
	// Older is the Before of the page that precedes this one, 0 when this
	// page reaches the conversation's start.
	Older parley.ID
}

// ThreadReader reads a thread from its newest end, a page at a time.
type ThreadReader interface {
	// ReadThread reads up to limit messages with ids below before (0: the
	// newest), and the events from the oldest of them (the conversation's
	// start when nothing is older) up to the message before (now when 0);
	// at most MaxThreadEvents of them, the newest; all of it and the
	// conversation read in one snapshot. ENOTFOUND when the conversation
	// is not the account's.
	ReadThread(ctx context.Context, accountID, conversationID, before parley.ID, limit int) (ThreadPage, error)
}

// MaxThreadEvents bounds the activity entries of one thread page.
const MaxThreadEvents = 500

// ConversationGetter reads one conversation of an account.
type ConversationGetter interface {
	GetConversation(ctx context.Context, accountID, conversationID parley.ID) (Conversation, error)
}

// Visible loads conversation id for u: ENOTFOUND when it is not u's
// account's, EFORBIDDEN when u may not see it (CanSee). The API and the
// web inbox both open a conversation through it.
func Visible(ctx context.Context, s ConversationGetter, u User, id parley.ID) (Conversation, error) {
	c, err := s.GetConversation(ctx, u.AccountID, id)
	if err != nil {
		return c, err
	}
	if !CanSee(u, c) {
		return c, parley.Errorf(parley.EFORBIDDEN, "this conversation is not assigned to you")
	}
	return c, nil
}

// The layouts of a snooze time: RFC 3339 always; a form's datetime-local
// value ("2030-01-02T15:04", seconds optional) where a location is given.
var localLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05"}

// ParseSnoozeUntil reads the time a snooze ends. An RFC 3339 time is
// always accepted; with local non-nil, so is a time without offset (as a
// datetime-local form field sends it), read in local. EINVALID (field
// "until") otherwise.
func ParseSnoozeUntil(raw string, local *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, raw); err == nil {
		return t, nil
	}
	if local != nil {
		for _, layout := range localLayouts {
			if t, err := time.ParseInLocation(layout, raw, local); err == nil {
				return t, nil
			}
		}
		return time.Time{}, parley.Invalid(map[string]string{"until": "must be a date and time, e.g. 2030-01-02T15:04"})
	}
	return time.Time{}, parley.Invalid(map[string]string{"until": "must be an RFC 3339 time, e.g. 2030-01-02T15:04:05Z"})
}
