package conversations

import "testing"

func TestResolvesIssue(t *testing.T) {
	for _, tt := range []struct {
		from, to Status
		want     bool
	}{
		{StatusNew, StatusResolved, true},
		{StatusOpen, StatusResolved, true},
		{StatusPending, StatusResolved, true},
		{StatusSnoozed, StatusResolved, true},
		{StatusClosed, StatusResolved, false},
		{StatusResolved, StatusResolved, false},
		{StatusOpen, StatusClosed, false},
	} {
		if got := ResolvesIssue(tt.from, tt.to); got != tt.want {
			t.Errorf("ResolvesIssue(%s, %s) = %v; want %v", tt.from, tt.to, got, tt.want)
		}
	}
}
