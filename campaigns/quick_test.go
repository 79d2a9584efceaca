package campaigns

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// queueRecorder is a QuickStore that records whether it was asked.
type queueRecorder struct{ asked bool }

func (s *queueRecorder) QueueQuickMessage(context.Context, QuickMessage, []string) (QuickResult, error) {
	s.asked = true
	return QuickResult{}, nil
}

// TestQuickMessageTemplate: a quick message's body is checked as a
// campaign's is: an unknown or malformed field is EINVALID on "body",
// naming the field, and nothing is queued; known fields pass.
func TestQuickMessageTemplate(t *testing.T) {
	tests := []struct {
		name, body string
		problem    string // in the "body" field's error; "" when valid
	}{
		{"known fields", "Hi {{first_name|there}}, {{attributes.plan}} {{ phone }}", ""},
		{"unknown field", "Hi {{nickname}}", "unknown field {{nickname}}"},
		{"unclosed field", "Hi {{first_name", "a {{ without its }}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var store queueRecorder
			q := QuickMessage{AccountID: 1, Sender: conversations.User{ID: 2, AccountID: 1, Role: conversations.RoleAdmin},
				ChannelID: 3, Body: tt.body, To: []string{"+14155550100"}}
			_, err := q.Send(context.Background(), &store)
			if tt.problem == "" {
				if err != nil || !store.asked {
					t.Errorf("Send = %v (queued %v); want it queued", err, store.asked)
				}
				return
			}
			var e *parley.Error
			if !parley.IsKind(err, parley.EINVALID) || !errors.As(err, &e) || !strings.Contains(e.Fields["body"], tt.problem) {
				t.Errorf("Send = %v; want EINVALID with body %q", err, tt.problem)
			}
			if store.asked {
				t.Error("a refused quick message reached the store")
			}
		})
	}
}
