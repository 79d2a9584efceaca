package conversations

import (
	"context"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// Action is a staff lifecycle action on a conversation.
type Action string

// Lifecycle actions and the status each leads to.
const (
	ActionResolve Action = "resolve"
	ActionReopen  Action = "reopen"
	ActionClose   Action = "close"
	ActionPending Action = "pending"
	ActionSnooze  Action = "snooze"
)

// Target is the status an action moves a conversation to.
func (a Action) Target() (Status, bool) {
	switch a {
	case ActionResolve:
		return StatusResolved, true
	case ActionReopen:
		return StatusOpen, true
	case ActionClose:
		return StatusClosed, true
	case ActionPending:
		return StatusPending, true
	case ActionSnooze:
		return StatusSnoozed, true
	}
	return "", false
}

// CanSee reports whether u may read conversation c: admins and view-all
// users see every conversation of the account, agents their own.
func CanSee(u User, c Conversation) bool {
	return u.CanViewAll() || (c.AssigneeID != nil && *c.AssigneeID == u.ID)
}

// CanAct reports whether u may change conversation c (status, priority,
// notes): the same people who may see it.
func CanAct(u User, c Conversation) bool { return CanSee(u, c) }

// Why the sending rule refuses a text (SendRefusal). They are also the
// reasons a quick message gives for a recipient it skips.
const (
	// RefusedNotAssigned: nobody has the conversation, and texting into it
	// would open it to the sender; only those who see every conversation
	// may take it that way.
	RefusedNotAssigned = "not_assigned_to_you"
	// RefusedAssignedElsewhere: it is a colleague's; only an admin steps in.
	RefusedAssignedElsewhere = "assigned_to_someone_else"
)

// SendRefusal is the one rule for every path that texts a contact in a
// conversation, replies, quick messages and campaigns alike: "" when u
// may text into c, else why not. A campaign reaches conversations nobody
// is assigned to, so only those this rule lets text one run campaigns.
func SendRefusal(u User, c Conversation) string {
	switch {
	case c.AssigneeID == nil && !u.CanViewAll():
		return RefusedNotAssigned
	case c.AssigneeID != nil && *c.AssigneeID != u.ID && !u.IsAdmin():
		return RefusedAssignedElsewhere
	}
	return ""
}

// CheckSend is the sending rule (SendRefusal) as a reply meets it:
// EFORBIDDEN, saying what to do, when u may not text into c.
func CheckSend(u User, c Conversation) error {
	switch SendRefusal(u, c) {
	case RefusedNotAssigned:
		return parley.Errorf(parley.EFORBIDDEN, "this conversation is not assigned to you; ask an admin, or someone who sees every conversation, to assign it to you")
	case RefusedAssignedElsewhere:
		return parley.Errorf(parley.EFORBIDDEN, "this conversation is assigned to someone else")
	}
	return nil
}

// CanAssign reports whether u may change c's assignee: admins and view-all
// users assign anyone; an agent may hand their own conversation to a
// colleague or give it up.
func CanAssign(u User, c Conversation) bool {
	if u.CanViewAll() {
		return true
	}
	return c.AssigneeID != nil && *c.AssigneeID == u.ID
}

// StatusChange is a staff lifecycle action to apply.
type StatusChange struct {
	AccountID      parley.ID
	ConversationID parley.ID
	Actor          User
	Action         Action
	Until          *time.Time // snooze only
	// TagID, on resolve and close, applies that tag in the same step, so
	// that it is the episode's final tag.
	TagID *parley.ID
	At    time.Time
}

// Validate checks the change (a snooze needs a time in the future) and
// brings Until to the precision it is stored with.
func (c *StatusChange) Validate() error {
	if _, ok := c.Action.Target(); !ok {
		return parley.Invalid(map[string]string{"action": "unknown action"})
	}
	if c.Action == ActionSnooze {
		if c.Until != nil {
			// Times are kept to the millisecond; compare what is kept.
			u := c.Until.UTC().Truncate(time.Millisecond)
			c.Until = &u
		}
		switch {
		case c.Until == nil:
			return parley.Invalid(map[string]string{"until": "is required (RFC 3339)"})
		case !c.Until.After(c.At):
			return parley.Invalid(map[string]string{"until": "must be in the future"})
		}
	}
	return nil
}

// Reply is a staff text to a conversation's contact.
type Reply struct {
	AccountID      parley.ID
	ConversationID parley.ID
	Author         User
	Body           string
	MediaURLs      []string
	Segmentation   Segmentation
	At             time.Time
}

// Twilio's limits: 1600 characters of body, 10 media per message.
const (
	maxBodyChars = 1600
	maxMedia     = 10
)

// Validate checks a reply and computes its segmentation.
func (r *Reply) Validate() error {
	fields := map[string]string{}
	if strings.TrimSpace(r.Body) == "" && len(r.MediaURLs) == 0 {
		fields["body"] = "is required unless media_urls are given"
	}
	if !isText(r.Body) {
		fields["body"] = "must be valid UTF-8 text"
	} else if utf8.RuneCountInString(r.Body) > maxBodyChars {
		fields["body"] = "must be at most 1600 characters"
	}
	if len(r.MediaURLs) > maxMedia {
		fields["media_urls"] = "at most 10 media per text"
	}
	for _, m := range r.MediaURLs {
		if u, err := url.Parse(m); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			fields["media_urls"] = "must be http(s) URLs"
		}
	}
	if len(fields) > 0 {
		return parley.Invalid(fields)
	}
	r.Segmentation = Segment(r.Body)
	return nil
}

// Note is an internal note on a conversation; it is never sent.
type Note struct {
	AccountID      parley.ID
	ConversationID parley.ID
	Author         User
	Body           string
	At             time.Time
}

// maxNoteBytes bounds a note: notes are for people, not documents.
const maxNoteBytes = 16 << 10

// Validate checks a note.
func (n Note) Validate() error {
	switch {
	case strings.TrimSpace(n.Body) == "":
		return parley.Invalid(map[string]string{"body": "is required"})
	case len(n.Body) > maxNoteBytes || !isText(n.Body):
		return parley.Invalid(map[string]string{"body": "must be valid text of at most 16 KiB"})
	}
	return nil
}

// Assignment sets or clears a conversation's assignee.
type Assignment struct {
	AccountID      parley.ID
	ConversationID parley.ID
	Actor          User
	AssigneeID     *parley.ID
	At             time.Time
}

// PriorityChange sets a conversation's priority.
type PriorityChange struct {
	AccountID      parley.ID
	ConversationID parley.ID
	Actor          User
	Priority       Priority
	At             time.Time
}

// Valid reports whether p is a known priority.
func (p Priority) Valid() bool {
	switch p {
	case PriorityNone, PriorityLow, PriorityMedium, PriorityHigh, PriorityUrgent:
		return true
	}
	return false
}

// StaffStore persists staff actions. Each method is one transaction that
// re-reads the conversation and checks the permission rule above against
// it, so a concurrent reassignment cannot slip past the check. They return
// ENOTFOUND (not the account's), EFORBIDDEN (rule refused) and ECONFLICT
// with code contact_opted_out for a reply to a phone that opted out.
type StaffStore interface {
	ChangeStatus(ctx context.Context, c StatusChange) (Conversation, error)
	Assign(ctx context.Context, a Assignment) (Conversation, error)
	SetPriority(ctx context.Context, p PriorityChange) (Conversation, error)
	// QueueReply stores the reply, puts it in the outbox, assigns an
	// unassigned conversation to the author and opens a new one.
	QueueReply(ctx context.Context, r Reply) (Message, error)
	AddNote(ctx context.Context, n Note) (Message, error)
	ListEvents(ctx context.Context, accountID, conversationID parley.ID, page Page) ([]Event, string, error)
	ListNotifications(ctx context.Context, accountID, userID parley.ID, page Page) ([]Notification, string, error)
	// MarkNotificationRead marks one of the user's notifications read;
	// ENOTFOUND when it is not theirs.
	MarkNotificationRead(ctx context.Context, accountID, userID, notificationID parley.ID, at time.Time) (Notification, error)
	// WakeSnoozed opens every conversation whose snooze has ended by now
	// and returns them. Safe to run on several instances at once: each
	// conversation is woken by exactly one.
	WakeSnoozed(ctx context.Context, now time.Time) ([]Conversation, error)
	UpdateContact(ctx context.Context, accountID, contactID parley.ID, p ContactPatch, at time.Time) (Contact, error)
}

// ContactPatch changes some of a contact's fields; nil fields are left
// alone. Phones replaces the whole list.
type ContactPatch struct {
	Name       *string
	Type       *string
	Attributes *map[string]any
	Phones     *[]string
}
