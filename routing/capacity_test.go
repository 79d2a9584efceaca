package routing_test

import (
	"testing"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/routing"
)

func TestFreesCapacity(t *testing.T) {
	for s, want := range map[conversations.Status]bool{
		conversations.StatusNew:      false,
		conversations.StatusOpen:     false,
		conversations.StatusPending:  true,
		conversations.StatusSnoozed:  true,
		conversations.StatusResolved: true,
		conversations.StatusClosed:   true,
	} {
		if got := routing.FreesCapacity(s); got != want {
			t.Errorf("FreesCapacity(%s) = %v, want %v", s, got, want)
		}
	}
}
