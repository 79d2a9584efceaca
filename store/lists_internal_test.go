package store

import (
	"testing"

	"github.com/parleyhq/parley/conversations"
)

func TestStatusSpan(t *testing.T) {
	tests := []struct {
		statuses []conversations.Status
		lo, hi   string
		exact    bool
	}{
		{[]conversations.Status{"open"}, "open", "open", true},
		{[]conversations.Status{"open", "new"}, "new", "open", true},
		{[]conversations.Status{"new", "open", "new"}, "new", "open", true},
		{[]conversations.Status{"closed", "pending"}, "closed", "pending", false}, // not new, open
		{[]conversations.Status{"resolved", "snoozed"}, "resolved", "snoozed", true},
		{[]conversations.Status{"closed", "new", "open", "pending", "resolved", "snoozed"}, "closed", "snoozed", true},
	}
	for _, tt := range tests {
		lo, hi, exact := statusSpan(tt.statuses)
		if lo != tt.lo || hi != tt.hi || exact != tt.exact {
			t.Errorf("statusSpan(%v) = %s, %s, %v; want %s, %s, %v", tt.statuses, lo, hi, exact, tt.lo, tt.hi, tt.exact)
		}
	}
}
