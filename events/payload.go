package events

import (
	"encoding/json"

	"github.com/parleyhq/parley"
)

// What the effects read from events' data. The store writes it (see
// store/record.go); these are its shapes.

// Change is one entry of conversation.updated's changes: a status or an
// assignee going from one value to another.
type Change struct {
	Type string          `json:"type"` // status_changed, assignee_changed, …
	From json.RawMessage `json:"from"`
	To   json.RawMessage `json:"to"`
}

// CreatedState reads conversation.created's data: the status and the
// assignee the conversation was created with.
func (e Event) CreatedState() (status string, assignee *parley.ID) {
	var d struct {
		Status     string     `json:"status"`
		AssigneeID *parley.ID `json:"assignee_id"`
	}
	_ = json.Unmarshal(e.Data, &d)
	return d.Status, d.AssigneeID
}

// ConversationChanges reads conversation.updated's data: what changed.
func (e Event) ConversationChanges() []Change {
	var d struct {
		Changes []Change `json:"changes"`
	}
	_ = json.Unmarshal(e.Data, &d)
	return d.Changes
}

// MessageState reads a message event's direction and status.
func (e Event) MessageState() (direction, status string) {
	var d struct {
		Direction string `json:"direction"`
		Status    string `json:"status"`
	}
	_ = json.Unmarshal(e.Data, &d)
	return d.Direction, d.Status
}

// IsNull reports whether a change's value is absent or JSON null.
func IsNull(v json.RawMessage) bool { return len(v) == 0 || string(v) == "null" }

// String reads a change's value as a string ("" when it is not one).
func String(v json.RawMessage) string {
	var s string
	_ = json.Unmarshal(v, &s)
	return s
}
