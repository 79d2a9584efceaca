package events

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// memLog is a log in memory, appended to as a store would commit.
type memLog struct {
	mu    sync.Mutex
	evs   map[parley.ID][]Event
	reads int
}

func (l *memLog) add(acc parley.ID, types ...Type) Announcement {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.evs == nil {
		l.evs = map[parley.ID][]Event{}
	}
	first := int64(len(l.evs[acc])) + 1
	for _, t := range types {
		l.evs[acc] = append(l.evs[acc], Event{AccountID: acc, Seq: int64(len(l.evs[acc])) + 1, Type: t})
	}
	return Announcement{AccountID: acc, First: first, Last: int64(len(l.evs[acc]))}
}

func (l *memLog) EventsAfter(_ context.Context, acc parley.ID, after int64, limit int) ([]Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reads++
	all := l.evs[acc]
	if after >= int64(len(all)) {
		return nil, nil
	}
	end := min(int(after)+limit, len(all))
	return append([]Event(nil), all[after:end]...), nil
}

func (l *memLog) EventBounds(_ context.Context, acc parley.ID) (int64, int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := int64(len(l.evs[acc]))
	if n == 0 {
		return 0, 0, nil
	}
	return 1, n, nil
}

func TestHubRunsEffectsInOrderOnceEach(t *testing.T) {
	log := &memLog{}
	var mu sync.Mutex
	var seen []int64
	h := &Hub{Log: log, Effects: []Effect{func(e Event) { mu.Lock(); seen = append(seen, e.Seq); mu.Unlock() }}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Run(ctx)

	a1 := log.add(1, MessageCreated, ConversationCreated)
	a2 := log.add(1, MessageCreated)
	// Announcements come twice (in process and by NOTIFY), the second
	// late; each event is still seen once, in order.
	h.Announced(a1)
	h.Announced(a2)
	h.Announced(a1)
	h.Announced(a2)
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) >= 3 })
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 || seen[0] != 1 || seen[1] != 2 || seen[2] != 3 {
		t.Fatalf("effects saw %v, want [1 2 3]", seen)
	}
}

func TestSubscriptionFollowsAndReplays(t *testing.T) {
	log := &memLog{}
	log.add(7, MessageCreated, MessageCreated) // before anyone listened
	h := &Hub{Log: log}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Run(ctx)
	s, err := h.Subscribe(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if s.Head() != 2 {
		t.Fatalf("head %d, want 2", s.Head())
	}
	h.Announced(log.add(7, NoteCreated))
	select {
	case <-s.Wake():
	case <-time.After(2 * time.Second):
		t.Fatal("the stream was not woken")
	}
	live, _ := s.After(ctx, 2, 10)
	if len(live) != 1 || live[0].Type != NoteCreated {
		t.Fatalf("live events %+v", live)
	}
	// A resuming client replays from the log what came before.
	replay, _ := s.After(ctx, 0, 10)
	if len(replay) != 3 || replay[0].Seq != 1 {
		t.Fatalf("replay %+v", replay)
	}
	s.Close()
	select {
	case <-s.Closed():
	default:
		t.Fatal("a closed subscription is not marked closed")
	}
}

func TestCatchUpReadsWhatWasNeverAnnounced(t *testing.T) {
	log := &memLog{}
	var mu sync.Mutex
	n := 0
	h := &Hub{Log: log, Effects: []Effect{func(Event) { mu.Lock(); n++; mu.Unlock() }}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Run(ctx)
	h.Announced(log.add(3, MessageCreated))
	log.add(3, MessageCreated, MessageCreated) // its NOTIFY was lost
	h.CatchUp()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return n == 3 })
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Events handed over with their announcement (this process's commits) are
// not read back from the log.
func TestCarriedEventsAreNotReadBack(t *testing.T) {
	log := &memLog{}
	var mu sync.Mutex
	n := 0
	h := &Hub{Log: log, Effects: []Effect{func(Event) { mu.Lock(); n++; mu.Unlock() }}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Run(ctx)
	for range 3 {
		ann := log.add(5, MessageCreated, ConversationUpdated)
		log.mu.Lock()
		ann.Events = append([]Event(nil), log.evs[5][ann.First-1:]...)
		log.mu.Unlock()
		h.Announced(ann)
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return n == 6 })
	log.mu.Lock()
	defer log.mu.Unlock()
	if log.reads != 0 {
		t.Fatalf("the log was read %d times for events the hub was handed", log.reads)
	}
}
