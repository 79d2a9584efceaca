package routing

import (
	"encoding/json"
	"testing"

	"github.com/parleyhq/parley/events"
)

func TestReactionTo(t *testing.T) {
	ev := func(typ events.Type, data string) events.Event {
		return events.Event{AccountID: 1, ConversationID: 2, Type: typ, Data: json.RawMessage(data)}
	}
	for _, c := range []struct {
		name string
		e    events.Event
		want Reaction
	}{
		{"a first text opens a conversation with nobody on it", ev(events.ConversationCreated, `{"status":"new"}`), AssignConversation},
		{"a quick message's conversation starts with its sender", ev(events.ConversationCreated, `{"status":"pending","assignee_id":"4"}`), Ignore},
		{"a keyword-only first text needs nobody", ev(events.ConversationCreated, `{"status":"resolved"}`), Ignore},
		{"reopened by the contact", ev(events.ConversationUpdated, `{"changes":[{"type":"status_changed","from":"resolved","to":"open"}]}`), AssignConversation},
		{"resolved frees its assignee", ev(events.ConversationUpdated, `{"changes":[{"type":"status_changed","from":"open","to":"resolved"}]}`), FillFreedCapacity},
		{"unassigned by staff", ev(events.ConversationUpdated, `{"changes":[{"type":"assignee_changed","from":"4","to":null}]}`), FillFreedCapacity},
		{"assigned to someone", ev(events.ConversationUpdated, `{"changes":[{"type":"assignee_changed","from":null,"to":"4"}]}`), Ignore},
		{"closed conversation texted again loses its assignee", ev(events.ConversationUpdated,
			`{"changes":[{"type":"status_changed","from":"closed","to":"new"},{"type":"assignee_changed","from":"4","to":null}]}`), FillFreedCapacity},
		{"a priority change", ev(events.ConversationUpdated, `{"changes":[{"type":"priority_changed","from":"none","to":"high"}]}`), Ignore},
		{"a user back at work", ev(events.UserUpdated, `{}`), FillFreedCapacity},
		{"auto-assignment switched on", ev(events.SettingsUpdated, `{}`), FillFreedCapacity},
		{"a routing table changed", ev(events.RoutingUpdated, `{}`), FillFreedCapacity},
		{"a text arrives in a thread", ev(events.MessageCreated, `{"direction":"inbound","status":"received"}`), Ignore},
	} {
		if got := ReactionTo(c.e); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
