package campaigns

import (
	"testing"

	"github.com/parleyhq/parley/conversations"
)

// TestCountsFollowARecipient: one recipient's life moves it between the
// counts API.md names, never counting it twice or losing it.
func TestCountsFollowARecipient(t *testing.T) {
	state := func(r RecipientStatus, m conversations.MessageStatus) RecipientState {
		return RecipientState{Recipient: r, Message: m}
	}
	pending := state(RecipientPending, "")
	queued := state(RecipientQueued, conversations.MessageQueued)
	sending := state(RecipientQueued, conversations.MessageSending)
	sent := state(RecipientQueued, conversations.MessageSent)
	delivered := state(RecipientQueued, conversations.MessageDelivered)
	undelivered := state(RecipientQueued, conversations.MessageUndelivered)
	steps := []struct {
		move Move
		want Counts
	}{
		{Move{To: pending, N: 3}, Counts{Recipients: 3, Queued: 3}},
		{Move{From: pending, To: queued, N: 2}, Counts{Recipients: 3, Queued: 3}},
		{Move{From: pending, To: state(RecipientSkippedOptedOut, ""), N: 1}, Counts{Recipients: 3, Queued: 2, SkippedOptedOut: 1}},
		{Move{From: queued, To: sending, N: 2}, Counts{Recipients: 3, Sent: 2, SkippedOptedOut: 1}},
		{Move{From: sending, To: sent, N: 2}, Counts{Recipients: 3, Sent: 2, SkippedOptedOut: 1}},
		{Move{From: sent, To: delivered, N: 1}, Counts{Recipients: 3, Sent: 1, Delivered: 1, SkippedOptedOut: 1}},
		{Move{From: sent, To: undelivered, N: 1}, Counts{Recipients: 3, Delivered: 1, Failed: 1, SkippedOptedOut: 1}},
		// A cancel after a text failed in the outbox: failed, then cancelled.
		{Move{To: queued, N: 1}, Counts{Recipients: 4, Queued: 1, Delivered: 1, Failed: 1, SkippedOptedOut: 1}},
		{Move{From: queued, To: state(RecipientQueued, conversations.MessageFailed), N: 1},
			Counts{Recipients: 4, Delivered: 1, Failed: 2, SkippedOptedOut: 1}},
		{Move{From: state(RecipientQueued, conversations.MessageFailed), To: state(RecipientCancelled, conversations.MessageFailed), N: 1},
			Counts{Recipients: 4, Delivered: 1, Failed: 1, SkippedOptedOut: 1, Cancelled: 1}},
	}
	var c Counts
	for i, s := range steps {
		c.Apply(s.move)
		if c != s.want {
			t.Fatalf("step %d (%+v): counts %+v, want %+v", i, s.move, c, s.want)
		}
	}
}
