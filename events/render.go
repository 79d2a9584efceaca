package events

import (
	"context"
	"encoding/json"

	"github.com/parleyhq/parley"
)

// Rendered is an event as streams and webhooks send it: its subject as the
// matching GET returns it, and what decides who may see it.
type Rendered struct {
	Data json.RawMessage
	// InConversation says the subject belongs to a conversation, assigned
	// to Assignee: then whoever may see that conversation may see it
	// (conversations.CanSee).
	InConversation bool
	Assignee       *parley.ID
	// FormerAssignee, when set, also sees it: the conversation was just
	// taken from them (Event.FormerAssignee).
	FormerAssignee *parley.ID
	// AdminsOnly: only admins see it (campaigns).
	AdminsOnly bool
	// Recipient, when set, is the only user who may see it (a
	// notification).
	Recipient *parley.ID
	// Gone: the subject no longer exists (deleted since); the event is
	// skipped.
	Gone bool
}

// Renderer renders events (gateway implements it with the API's JSON).
type Renderer interface {
	Render(ctx context.Context, e Event) (Rendered, error)
}
