package routing

import (
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
)

// Reaction is what auto-assignment does about a committed event.
type Reaction int

const (
	// Ignore: nothing for auto-assignment.
	Ignore Reaction = iota
	// AssignConversation: the conversation may be new or open without an
	// assignee (the assigner checks, in its transaction).
	AssignConversation
	// FillFreedCapacity: a place may have freed (a conversation left
	// new/open or its assignee, a user came back, capacity or the rules
	// changed, auto-assignment was switched on): the account's waiting
	// conversations are tried, longest-waiting first.
	FillFreedCapacity
)

// ReactionTo decides what an event means for auto-assignment.
func ReactionTo(e events.Event) Reaction {
	switch e.Type {
	case events.UserUpdated, events.SettingsUpdated, events.RoutingUpdated:
		return FillFreedCapacity
	case events.ConversationCreated:
		status, assignee := e.CreatedState()
		if assignee == nil && !FreesCapacity(conversations.Status(status)) {
			return AssignConversation
		}
	case events.ConversationUpdated:
		r := Ignore
		for _, c := range e.ConversationChanges() {
			switch conversations.EventType(c.Type) {
			case conversations.EventStatusChanged:
				if FreesCapacity(conversations.Status(events.String(c.To))) {
					return FillFreedCapacity
				}
				r = AssignConversation
			case conversations.EventAssigneeChanged:
				if !events.IsNull(c.From) {
					return FillFreedCapacity
				}
				if events.IsNull(c.To) {
					r = AssignConversation
				}
			}
		}
		return r
	}
	return Ignore
}
