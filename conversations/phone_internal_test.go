package conversations

import (
	"fmt"
	"testing"
)

// TestKnownNumbersAreBounded: a stream of distinct valid numbers (a
// campaign's replies, a flood of webhooks) is remembered in bounded memory.
func TestKnownNumbersAreBounded(t *testing.T) {
	s := numberSet{max: 100}
	for i := range 1000 {
		s.add(fmt.Sprintf("+1415555%04d", i))
		if len(s.m) > s.max {
			t.Fatalf("%d numbers remembered, want at most %d", len(s.m), s.max)
		}
	}
	if !s.has("+14155550999") {
		t.Error("the last number added is not remembered")
	}
}
