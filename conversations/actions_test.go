package conversations

import (
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
