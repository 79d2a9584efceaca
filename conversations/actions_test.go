package conversations

import (
	"strings"
	"testing"

	"github.com/parleyhq/parley"
)

func TestSendRefusal(t *testing.T) {
	ann, ben := parley.ID(1), parley.ID(2)
	agent := User{ID: ben, Role: RoleAgent}
	viewAll := User{ID: ben, Role: RoleAgent, ViewAllConversations: true}
	admin := User{ID: ben, Role: RoleAdmin}
	tests := []struct {
		name     string
		u        User
		assignee *parley.ID
		want     string
	}{
		{"an agent, their own", agent, &ben, ""},
		{"an agent, a colleague's", agent, &ann, RefusedAssignedElsewhere},
		{"an agent, unassigned", agent, nil, RefusedNotAssigned},
		{"a view-all agent, unassigned", viewAll, nil, ""},
		{"a view-all agent, a colleague's", viewAll, &ann, RefusedAssignedElsewhere},
		{"an admin, a colleague's", admin, &ann, ""},
		{"an admin, unassigned", admin, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SendRefusal(tt.u, Conversation{AssigneeID: tt.assignee}); got != tt.want {
				t.Errorf("SendRefusal = %q; want %q", got, tt.want)
			}
		})
	}
}

// A refused reply says what the sender can do about it, never an action
// the rules refuse them too: an agent cannot take an unassigned thread.
func TestCheckSendAdviceIsAllowed(t *testing.T) {
	agent := User{ID: 2, Role: RoleAgent}
	unassigned := Conversation{}
	err := CheckSend(agent, unassigned)
	if err == nil {
		t.Fatal("an agent may text an unassigned conversation")
	}
	if strings.Contains(err.Error(), "assign it to yourself") && !CanAssign(agent, unassigned) {
		t.Errorf("the refusal says %q, but the agent may not assign it", err)
	}
	if !strings.Contains(err.Error(), "ask an admin") {
		t.Errorf("the refusal says %q; want whom to ask", err)
	}
}
