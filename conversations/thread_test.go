package conversations

import (
	"context"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

type oneConversation Conversation

func (c oneConversation) GetConversation(_ context.Context, accountID, id parley.ID) (Conversation, error) {
	if accountID != c.AccountID || id != c.ID {
		return Conversation{}, parley.Errorf(parley.ENOTFOUND, "no such conversation")
	}
	return Conversation(c), nil
}

// TestVisible: the API and the web inbox open a conversation by one rule.
func TestVisible(t *testing.T) {
	ann, ben := parley.ID(1), parley.ID(2)
	store := oneConversation{ID: 7, AccountID: 1, AssigneeID: &ann}
	tests := []struct {
		name string
		u    User
		id   parley.ID
		want string // error kind, "" for none
	}{
		{"the assignee", User{ID: ann, AccountID: 1, Role: RoleAgent}, 7, ""},
		{"a colleague", User{ID: ben, AccountID: 1, Role: RoleAgent}, 7, parley.EFORBIDDEN},
		{"a colleague who sees all", User{ID: ben, AccountID: 1, Role: RoleAgent, ViewAllConversations: true}, 7, ""},
		{"an admin", User{ID: ben, AccountID: 1, Role: RoleAdmin}, 7, ""},
		{"another account's admin", User{ID: ben, AccountID: 2, Role: RoleAdmin}, 7, parley.ENOTFOUND},
	}
	for _, tt := range tests {
		_, err := Visible(context.Background(), store, tt.u, tt.id)
		if got := parley.ErrorKind(err); (err == nil) != (tt.want == "") || (err != nil && got != tt.want) {
			t.Errorf("%s: err = %v, want kind %q", tt.name, err, tt.want)
		}
	}
}

func TestContactConversationsFollowsTheViewRule(t *testing.T) {
	agent := User{ID: 3, AccountID: 1, Role: RoleAgent}
	if f := ContactConversations(agent, 9, Page{}); f.AssigneeID != 3 || f.ContactID != 9 || f.AccountID != 1 {
		t.Errorf("an agent's filter = %+v, want their own conversations of contact 9", f)
	}
	agent.ViewAllConversations = true
	if f := ContactConversations(agent, 9, Page{}); f.AssigneeID != 0 {
		t.Errorf("a view-all agent's filter = %+v, want every conversation of contact 9", f)
	}
}

func TestParseSnoozeUntil(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database")
	}
	tests := []struct {
		raw   string
		local *time.Location
		want  time.Time // zero: refused
	}{
		{"2030-01-02T15:04:05Z", nil, time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC)},
		{"2030-01-02T15:04:05+02:00", time.UTC, time.Date(2030, 1, 2, 13, 4, 5, 0, time.UTC)},
		{"2030-01-02T15:04", nil, time.Time{}}, // the API wants an offset
		{"2030-01-02T15:04", time.UTC, time.Date(2030, 1, 2, 15, 4, 0, 0, time.UTC)},
		{"2030-01-02T15:04:30", ny, time.Date(2030, 1, 2, 20, 4, 30, 0, time.UTC)},
		{"tomorrow", time.UTC, time.Time{}},
	}
	for _, tt := range tests {
		got, err := ParseSnoozeUntil(tt.raw, tt.local)
		switch {
		case tt.want.IsZero() && !parley.IsKind(err, parley.EINVALID):
			t.Errorf("ParseSnoozeUntil(%q, %v) = %v, %v; want EINVALID", tt.raw, tt.local, got, err)
		case !tt.want.IsZero() && (err != nil || !got.Equal(tt.want)):
			t.Errorf("ParseSnoozeUntil(%q, %v) = %v, %v; want %v", tt.raw, tt.local, got, err, tt.want)
		}
	}
}
