package gateway

import (
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
)

func TestResumePoint(t *testing.T) {
	p := func(n int64) *int64 { return &n }
	for _, tt := range []struct {
		name         string
		last         *int64
		oldest, head int64
		pos          int64
		reset        bool
	}{
		{"no last event: from the head", nil, 5, 9, 9, false},
		{"the log still holds what follows", p(4), 5, 9, 4, false},
		{"up to date", p(9), 5, 9, 9, false},
		{"the next event was pruned", p(3), 5, 9, 9, true},
		{"beyond the head", p(10), 5, 9, 9, true},
		{"everything pruned, nothing missed", p(9), 0, 9, 9, false},
		{"everything pruned, events missed", p(8), 0, 9, 9, true},
		{"an empty log", p(0), 0, 0, 0, false},
	} {
		pos, reset := resumePoint(tt.last, tt.oldest, tt.head)
		if pos != tt.pos || reset != tt.reset {
			t.Errorf("%s: (%d, %v), want (%d, %v)", tt.name, pos, reset, tt.pos, tt.reset)
		}
	}
}

func TestMayStream(t *testing.T) {
	ann, bob := parley.ID(2), parley.ID(3)
	agent := conversations.User{ID: ann, Role: conversations.RoleAgent}
	admin := conversations.User{ID: 1, Role: conversations.RoleAdmin}
	for _, tt := range []struct {
		name  string
		u     conversations.User
		r     events.Rendered
		wants bool
	}{
		{"an agent, their conversation", agent, events.Rendered{InConversation: true, Assignee: &ann}, true},
		{"an agent, a colleague's", agent, events.Rendered{InConversation: true, Assignee: &bob}, false},
		{"an agent, an unassigned one", agent, events.Rendered{InConversation: true}, false},
		{"an admin, a colleague's", admin, events.Rendered{InConversation: true, Assignee: &bob}, true},
		{"an admin, another's notification", admin, events.Rendered{Recipient: &bob}, false},
		{"an agent, their notification", agent, events.Rendered{Recipient: &ann}, true},
		{"an agent, admin-only", agent, events.Rendered{AdminsOnly: true}, false},
		{"an admin, admin-only", admin, events.Rendered{AdminsOnly: true}, true},
		{"an agent, a campaign", agent, events.Rendered{}, true},
		{"an admin, something gone", admin, events.Rendered{Gone: true}, false},
		{"an agent, their conversation given to a colleague", agent, events.Rendered{InConversation: true, Assignee: &bob, FormerAssignee: &ann}, true},
		{"an agent, a colleague's conversation moved on", agent, events.Rendered{InConversation: true, Assignee: &ann, FormerAssignee: &bob}, true},
	} {
		if got := mayStream(tt.u, tt.r); got != tt.wants {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.wants)
		}
	}
}
