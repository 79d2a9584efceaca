package routing_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/routing"
)

var t0 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// assignCall is one AutoAssign the assigner made.
type assignCall struct {
	account, conversation parley.ID
	at                    time.Time
}

// fakeStore records what the assigner asks of the store. Only the two
// methods the assigner uses are implemented; the embedded nil Store makes
// any other call panic, which would be a finding in itself.
type fakeStore struct {
	routing.Store

	mu          sync.Mutex
	calls       []assignCall
	sweeps      []parley.ID // WaitingConversations' accountID, per call
	limits      []int
	waiting     []routing.Waiting
	waitingErr  error
	fail        map[parley.ID]error // AutoAssign's error per conversation
	called      chan struct{}       // one send per AutoAssign, when buffered
	blockAssign chan struct{}       // when set, AutoAssign waits on it
	allowed     map[parley.ID]bool  // AutoAssignAllowed's answer per account
}

func (f *fakeStore) AutoAssignAllowed(_ context.Context, accountID parley.ID) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.allowed[accountID], nil
}

func (f *fakeStore) AutoAssign(ctx context.Context, accountID, conversationID parley.ID, at time.Time) (routing.Decision, error) {
	if f.blockAssign != nil {
		select {
		case <-f.blockAssign:
		case <-ctx.Done():
			return routing.Decision{}, ctx.Err()
		}
	}
	f.mu.Lock()
	f.calls = append(f.calls, assignCall{accountID, conversationID, at})
	err := f.fail[conversationID]
	f.mu.Unlock()
	if f.called != nil {
		f.called <- struct{}{}
	}
	if err != nil {
		return routing.Decision{}, err
	}
	user := parley.ID(conversationID * 10)
	return routing.Decision{UserID: &user, EntryIndex: 0, Strategy: routing.Priority, Reason: "test"}, nil
}

func (f *fakeStore) WaitingConversations(_ context.Context, accountID parley.ID, after routing.Waiting, limit int) ([]routing.Waiting, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sweeps = append(f.sweeps, accountID)
	f.limits = append(f.limits, limit)
	if f.waitingErr != nil {
		return nil, f.waitingErr
	}
	var out []routing.Waiting
	past := after.ID == 0
	for _, w := range f.waiting {
		if !past {
			past = w.ID == after.ID
			continue
		}
		if (accountID == 0 || w.AccountID == accountID) && len(out) < limit {
			out = append(out, w)
		}
	}
	return out, nil
}

func (f *fakeStore) assignCalls() []assignCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// waitCalls waits until the store has seen n AutoAssign calls.
func waitCalls(t *testing.T, f *fakeStore, n int) []assignCall {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case <-f.called:
		case <-deadline:
			t.Fatalf("the store saw %d AutoAssign calls in 10s; want %d", len(f.assignCalls()), n)
		}
	}
	return f.assignCalls()
}

// syncBuffer is a log sink the assigner's goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newAssigner is an assigner over f logging to log (nil: nowhere).
func newAssigner(f *fakeStore, log *syncBuffer) *routing.Assigner {
	a := &routing.Assigner{Store: f, Clock: &parley.FixedClock{T: t0}, Log: zerolog.Nop()}
	if log != nil {
		a.Log = zerolog.New(log)
	}
	return a
}

// run works a's queue until the test ends.
func run(t *testing.T, a *routing.Assigner) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
}

func TestAssignerAssign(t *testing.T) {
	f := &fakeStore{called: make(chan struct{}, 16)}
	a := newAssigner(f, nil)
	var (
		mu        sync.Mutex
		decisions []routing.Decision
	)
	a.OnDecision = func(d routing.Decision, took time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		decisions = append(decisions, d)
		if took < 0 {
			t.Errorf("OnDecision took = %v", took)
		}
	}

	// Queued before Run starts: nothing is lost while the worker boots.
	a.Assign(1, 42)
	a.Assign(1, 43)
	run(t, a)
	a.Assign(2, 44)

	got := waitCalls(t, f, 3)
	want := []assignCall{{1, 42, t0}, {1, 43, t0}, {2, 44, t0}}
	if !slices.Equal(got, want) {
		t.Fatalf("AutoAssign calls %v; want %v (in order, at the clock's time)", got, want)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(decisions)
		mu.Unlock()
		if n == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	var users []parley.ID
	for _, d := range decisions {
		users = append(users, *d.UserID)
	}
	mu.Unlock()
	if !slices.Equal(users, []parley.ID{420, 430, 440}) {
		t.Errorf("OnDecision saw users %v; want the store's decisions 420, 430, 440", users)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sweeps != nil {
		t.Errorf("Assign swept %v; a single conversation needs no sweep", f.sweeps)
	}
}

func TestAssignerCapacityFreed(t *testing.T) {
	for _, tc := range []struct {
		name     string
		freed    func(a *routing.Assigner)
		sweptFor parley.ID
		want     []assignCall
	}{
		{
			name:     "one account's waiting conversations, in the store's order",
			freed:    func(a *routing.Assigner) { a.CapacityFreed(1) },
			sweptFor: 1,
			want:     []assignCall{{1, 30, t0}, {1, 10, t0}, {1, 20, t0}},
		},
		{
			name:     "another account's are left alone",
			freed:    func(a *routing.Assigner) { a.CapacityFreed(2) },
			sweptFor: 2,
			want:     []assignCall{{2, 15, t0}},
		},
		{
			name:     "a periodic sweep of every account",
			freed:    func(a *routing.Assigner) { a.Sweep(context.Background(), 0) },
			sweptFor: 0,
			want:     []assignCall{{1, 30, t0}, {2, 15, t0}, {1, 10, t0}, {1, 20, t0}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeStore{called: make(chan struct{}, 16),
				// Longest-waiting first, as the store orders them; not by id.
				waiting: []routing.Waiting{{AccountID: 1, ID: 30}, {AccountID: 2, ID: 15}, {AccountID: 1, ID: 10}, {AccountID: 1, ID: 20}}}
			a := newAssigner(f, nil)
			run(t, a)
			tc.freed(a)
			got := waitCalls(t, f, len(tc.want))
			if !slices.Equal(got, tc.want) {
				t.Fatalf("AutoAssign calls %v; want %v", got, tc.want)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.sweeps) != 1 || f.sweeps[0] != tc.sweptFor {
				t.Errorf("WaitingConversations asked for accounts %v; want [%d]", f.sweeps, tc.sweptFor)
			}
			if f.limits[0] <= 0 {
				t.Errorf("WaitingConversations limit %d; want a positive batch", f.limits[0])
			}
		})
	}
}

func TestAssignerErrors(t *testing.T) {
	t.Run("a failed assignment is logged and the next job still runs", func(t *testing.T) {
		log := &syncBuffer{}
		f := &fakeStore{called: make(chan struct{}, 16), fail: map[parley.ID]error{
			1: errors.New("connection reset"),
			2: parley.Errorf(parley.ENOTFOUND, "not found"), // deleted meanwhile: nothing to report
		}}
		a := newAssigner(f, log)
		decided := make(chan routing.Decision, 4)
		a.OnDecision = func(d routing.Decision, _ time.Duration) { decided <- d }
		run(t, a)
		a.Assign(9, 1)
		a.Assign(9, 2)
		a.Assign(9, 3)
		waitCalls(t, f, 3)
		select {
		case d := <-decided:
			if *d.UserID != 30 {
				t.Errorf("OnDecision saw %v; want only conversation 3's decision", d)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the job after the failures was not decided")
		}
		select {
		case d := <-decided:
			t.Errorf("OnDecision saw a failed assignment's decision %+v", d)
		default:
		}
		out := log.String()
		if strings.Count(out, `"level":"error"`) != 1 || !strings.Contains(out, "connection reset") {
			t.Errorf("log %q; want one error naming the failure, none for the vanished conversation", out)
		}
	})

	t.Run("a failed listing assigns nothing and is logged", func(t *testing.T) {
		log := &syncBuffer{}
		f := &fakeStore{waitingErr: errors.New("database is down"), waiting: []routing.Waiting{{AccountID: 1, ID: 1}}}
		a := newAssigner(f, log)
		a.Sweep(context.Background(), 1)
		if calls := f.assignCalls(); len(calls) != 0 {
			t.Errorf("AutoAssign calls %v after a failed listing", calls)
		}
		if !strings.Contains(log.String(), "database is down") {
			t.Errorf("log %q; want the listing's error", log.String())
		}
	})

	t.Run("a sweep stops when its context ends", func(t *testing.T) {
		f := &fakeStore{waiting: []routing.Waiting{{AccountID: 1, ID: 1}, {AccountID: 1, ID: 2}, {AccountID: 1, ID: 3}}}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		newAssigner(f, nil).Sweep(ctx, 1)
		if calls := f.assignCalls(); len(calls) != 0 {
			t.Errorf("a cancelled sweep made AutoAssign calls %v", calls)
		}
	})
}

// TestAssignerNeverBlocksTheCaller: ingest and staff actions call Assign
// and CapacityFreed after they commit; a stalled assigner must not stall
// them. Work beyond the queue is left to the periodic sweep.
func TestAssignerNeverBlocksTheCaller(t *testing.T) {
	const queued = 10_000 // the queue's size
	log := &syncBuffer{}
	f := &fakeStore{called: make(chan struct{}, queued+100)}
	a := newAssigner(f, log)

	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= queued; i++ {
			a.Assign(1, parley.ID(i))
		}
		// The queue is full and nothing runs: these must return at once.
		for i := queued + 1; i <= queued+5; i++ {
			a.Assign(1, parley.ID(i))
		}
		a.CapacityFreed(1)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Assign blocked on a full queue with no worker running")
	}
	if !strings.Contains(log.String(), "queue full") {
		t.Errorf("log %q; want a warning that the queue is full", log.String())
	}

	t.Run("a stuck worker does not block either", func(t *testing.T) {
		stuck := &fakeStore{blockAssign: make(chan struct{})}
		b := newAssigner(stuck, nil)
		run(t, b)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 1; i <= queued+10; i++ {
				b.Assign(1, parley.ID(i))
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Assign blocked while the worker was stuck in the store")
		}
	})

	// Once a worker runs, the queued jobs are worked, the dropped ones not.
	run(t, a)
	calls := waitCalls(t, f, queued)
	for i, c := range calls[:queued] {
		if c.conversation != parley.ID(i+1) {
			t.Fatalf("call %d was for conversation %d; want %d (queue order)", i, c.conversation, i+1)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if extra := f.assignCalls()[queued:]; len(extra) != 0 {
		t.Errorf("jobs dropped from the full queue ran anyway: %v", extra)
	}
}

func TestAssignerRunStopsWithItsContext(t *testing.T) {
	f := &fakeStore{called: make(chan struct{}, 4)}
	a := newAssigner(f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.Run(ctx) }()
	a.Assign(1, 1)
	waitCalls(t, f, 1)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run kept going after its context ended")
	}
}

// The assigner's effect: events queue work, from the hub's goroutine while
// Run works, and only for accounts that allow auto-assignment.
func TestAssignerReactsToEvents(t *testing.T) {
	f := &fakeStore{called: make(chan struct{}, 16), allowed: map[parley.ID]bool{1: true}}
	a := newAssigner(f, nil)
	created := func(acc, conv parley.ID) events.Event {
		return events.Event{AccountID: acc, ConversationID: conv, Type: events.ConversationCreated, Data: []byte(`{"status":"new"}`)}
	}
	done := make(chan struct{})
	go func() { // as the hub does, while Run starts
		defer close(done)
		a.React(events.Event{AccountID: 2, Type: events.SettingsUpdated})
		a.React(created(2, 43)) // account 2 does not allow it
		a.React(created(1, 42))
	}()
	run(t, a)
	<-done
	waitCalls(t, f, 1)
	time.Sleep(50 * time.Millisecond) // nothing else follows
	if got := f.assignCalls(); !slices.Equal(got, []assignCall{{1, 42, t0}}) {
		t.Fatalf("AutoAssign calls %v; want only account 1's conversation 42", got)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.sweeps, 2) {
		t.Errorf("settings.updated swept %v; want account 2's waiting conversations tried", f.sweeps)
	}
}
