package campaigns

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

func TestNextStatusCheck(t *testing.T) {
	accepted := epoch
	var at []time.Duration // when each lookup happens, after acceptance
	now := FirstStatusCheck(accepted)
	for checks := 1; ; checks++ {
		at = append(at, now.Sub(accepted))
		next, ok := NextStatusCheck(accepted, checks, now)
		if !ok {
			break
		}
		if !next.After(now) {
			t.Fatalf("check %d at %v: next %v is not later", checks, now, next)
		}
		now = next
	}
	h := time.Hour
	want := []time.Duration{h, 2 * h, 4 * h, 8 * h, 16 * h, 32 * h, 56 * h, 72 * h}
	if len(at) != len(want) {
		t.Fatalf("lookups at %v, want %v", at, want)
	}
	for i := range want {
		if at[i] != want[i] {
			t.Fatalf("lookups at %v, want %v", at, want)
		}
	}
	// A text found long after its bound is looked up once, then given up.
	if _, ok := NextStatusCheck(accepted, 1, accepted.Add(30*24*h)); ok {
		t.Error("a month-old text is looked up again")
	}
}

// memStatusChecks is an in-memory StatusCheckStore.
type memStatusChecks struct {
	mu       sync.Mutex
	due      []StatusCheck
	claims   []int // limit of each claim
	recorded map[parley.ID]CarrierStatus
	next     map[parley.ID]time.Time
}

func (m *memStatusChecks) ClaimStatusChecks(_ context.Context, _ time.Time, _ time.Duration, limit int) ([]StatusCheck, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.claims = append(m.claims, limit)
	n := min(limit, len(m.due))
	out := m.due[:n]
	m.due = m.due[n:]
	return out, nil
}

func (m *memStatusChecks) RecordStatusCheck(_ context.Context, c StatusCheck, s CarrierStatus, next time.Time, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recorded[c.MessageID], m.next[c.MessageID] = s, next
	return nil
}

type scriptedStatuses map[string]struct {
	s   CarrierStatus
	err error
}

func (s scriptedStatuses) CheckStatus(_ context.Context, _ OutboundText, sid string) (CarrierStatus, error) {
	return s[sid].s, s[sid].err
}

// TestStatusPoller records what the carrier says, books the next look
// for a text still not final, and stops asking what the carrier will
// never answer; at most PerSecond texts a round.
func TestStatusPoller(t *testing.T) {
	accepted := epoch.Add(-2 * time.Hour)
	check := func(id parley.ID, sid string) StatusCheck {
		return StatusCheck{MessageID: id, CarrierMessageID: sid, AcceptedAt: accepted, Checks: 1}
	}
	store := &memStatusChecks{recorded: map[parley.ID]CarrierStatus{}, next: map[parley.ID]time.Time{},
		due: []StatusCheck{check(1, "SMdelivered"), check(2, "SMsent"), check(3, "SMgone"), check(4, "SMdown"), check(5, "SMlater")}}
	carrier := scriptedStatuses{
		"SMdelivered": {s: CarrierStatus{Status: conversations.MessageDelivered}},
		"SMsent":      {s: CarrierStatus{Status: conversations.MessageSent}},
		"SMgone":      {err: &SendError{HTTPStatus: 404, Code: 20404}},
		"SMdown":      {err: &SendError{HTTPStatus: 503, Temporary: true}},
	}
	p := &StatusPoller{Store: store, Carrier: carrier, Clock: &parley.FixedClock{T: epoch}, Log: zerolog.Nop(), PerSecond: 4}
	n, err := p.CheckOnce(context.Background())
	if err != nil || n != 4 || len(store.due) != 1 {
		t.Fatalf("CheckOnce = %d, %v with %d left; want 4 claimed, 1 left for the next second", n, err, len(store.due))
	}
	again, _ := NextStatusCheck(accepted, 2, epoch)
	want := map[parley.ID]struct {
		s    conversations.MessageStatus
		next time.Time
	}{
		1: {conversations.MessageDelivered, again}, // the store drops it, being final
		2: {conversations.MessageSent, again},
		3: {"", time.Time{}},
		4: {"", again},
	}
	for id, w := range want {
		if got := store.recorded[id].Status; got != w.s || !store.next[id].Equal(w.next) {
			t.Errorf("text %d: recorded %q, next %v; want %q, %v", id, got, store.next[id], w.s, w.next)
		}
	}
}
