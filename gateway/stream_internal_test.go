package gateway

import (
	"errors"
	"net/http"
	"net/http/httptest"
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

// A look at the credentials that fails keeps a stream at a heartbeat (a
// blip of the database), but ends it once its user is known to have
// changed: it must not go on with rights they may have lost.
func TestStillSignedIn(t *testing.T) {
	was := conversations.User{ID: 7}
	r := httptest.NewRequest(http.MethodGet, "/v1/stream", nil)
	down := &Deps{CookieAuth: func(*http.Request) (conversations.User, error) {
		return conversations.User{}, errors.New("database down")
	}}
	if u, err := stillSignedIn(down, r, was, false); err != nil || u.ID != was.ID {
		t.Errorf("a heartbeat's look that failed: %v, %v; want the stream kept as it was", u, err)
	}
	if _, err := stillSignedIn(down, r, was, true); err == nil {
		t.Error("a failed look after the user changed kept the stream")
	}
	signedOut := &Deps{CookieAuth: func(*http.Request) (conversations.User, error) {
		return conversations.User{}, parley.Errorf(parley.EUNAUTHENTICATED, "the session ended")
	}}
	if _, err := stillSignedIn(signedOut, r, was, false); !parley.IsKind(err, parley.EUNAUTHENTICATED) {
		t.Errorf("a look after sign-out: %v; want the stream ended", err)
	}
	demoted := conversations.User{ID: 7, Role: conversations.RoleAgent}
	fine := &Deps{CookieAuth: func(*http.Request) (conversations.User, error) { return demoted, nil }}
	if u, err := stillSignedIn(fine, r, conversations.User{ID: 7, Role: conversations.RoleAdmin}, true); err != nil || u.Role != conversations.RoleAgent {
		t.Errorf("a look after a demotion: %v, %v; want the agent", u, err)
	}
}
