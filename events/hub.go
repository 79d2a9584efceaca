package events

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/parleyhq/parley"
)

// Log is the durable log the hub reads (the store).
type Log interface {
	// EventsAfter reads up to limit of an account's events after a
	// position, oldest first.
	EventsAfter(ctx context.Context, accountID parley.ID, after int64, limit int) ([]Event, error)
	// EventBounds are the oldest kept position (0 when none) and the head.
	EventBounds(ctx context.Context, accountID parley.ID) (oldest, head int64, err error)
}

// Effect reacts to a committed event. Effects run one at a time, in each
// account's order, on the hub's goroutine: they must only hand work on
// (wake a loop, queue a job), never wait.
type Effect func(Event)

// Hub is one instance's view of the event log. It hears announcements,
// reads the new rows once, runs the effects on them and wakes the streams
// of the account. Every instance runs one; each reads every account's
// events, so an effect runs on every instance (effects are idempotent or
// claimed in the database).
type Hub struct {
	Log Log
	// Effects see every event of every account read after start.
	Effects []Effect
	// Poll bounds how late an event whose announcement was lost is read
	// (accounts with streams only; effects have their own sweeps).
	Poll   time.Duration
	Logger zerolog.Logger

	mu    sync.Mutex
	feeds map[parley.ID]*feed
	wake  chan struct{}
	once  sync.Once
}

// ringSize is how many recent events each account keeps in memory for
// streams catching up; older ones are read from the log.
const ringSize = 2048

// readBatch is how many events one read of the log takes.
const readBatch = 500

// maxCarried bounds the events an account keeps from announcements before
// the hub reads them; past it, they are read from the log.
const maxCarried = 10_000

type feed struct {
	read      int64 // the last position read and handed out
	announced int64 // the highest position announced (or -1: read to the end)
	ring      []Event
	// carried are events handed over with their announcements, by
	// position, until read.
	carried map[int64]Event
	fresh   bool // not read yet
	subs    map[*Subscription]struct{}
}

func (h *Hub) init() {
	h.once.Do(func() {
		h.feeds = map[parley.ID]*feed{}
		h.wake = make(chan struct{}, 1)
	})
}

// Announced records that an account's log reached ann.Last; Run reads it.
func (h *Hub) Announced(ann Announcement) {
	h.init()
	h.mu.Lock()
	f := h.feeds[ann.AccountID]
	if f == nil {
		f = &feed{read: ann.First - 1, fresh: true}
		h.feeds[ann.AccountID] = f
	}
	// Until the account is first read, an earlier transaction announced
	// late (commits announce from many goroutines) still counts.
	if f.fresh && ann.First-1 < f.read {
		f.read = ann.First - 1
	}
	if ann.Last > f.announced && f.announced >= 0 {
		f.announced = ann.Last
	}
	if len(ann.Events) > 0 && ann.Last > f.read && len(f.carried) < maxCarried {
		if f.carried == nil {
			f.carried = map[int64]Event{}
		}
		for _, e := range ann.Events {
			f.carried[e.Seq] = e
		}
	}
	h.mu.Unlock()
	h.signal()
}

// CatchUp makes Run read every known account to its end: announcements
// may have been lost.
func (h *Hub) CatchUp() {
	h.init()
	h.mu.Lock()
	for _, f := range h.feeds {
		f.announced = -1
	}
	h.mu.Unlock()
	h.signal()
}

func (h *Hub) signal() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Run reads announced events until ctx ends.
func (h *Hub) Run(ctx context.Context) {
	h.init()
	poll := h.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			h.closeAll()
			return
		case <-h.wake:
		case <-tick.C:
			h.pollWatched()
		}
		for _, acc := range h.due() {
			h.readAccount(ctx, acc)
		}
	}
}

// due are the accounts with announced events not yet read.
func (h *Hub) due() []parley.ID {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []parley.ID
	for acc, f := range h.feeds {
		if f.announced < 0 || f.announced > f.read {
			out = append(out, acc)
		}
	}
	return out
}

// pollWatched marks the accounts someone streams to be read to the end,
// in case an announcement was lost.
func (h *Hub) pollWatched() {
	h.mu.Lock()
	for _, f := range h.feeds {
		if len(f.subs) > 0 {
			f.announced = -1
		}
	}
	h.mu.Unlock()
}

// readAccount reads an account's new events, runs the effects on them,
// keeps them for streams and wakes its streams.
func (h *Hub) readAccount(ctx context.Context, acc parley.ID) {
	for {
		h.mu.Lock()
		f := h.feeds[acc]
		after, target := f.read, f.announced
		evs := f.takeCarried(after)
		h.mu.Unlock()
		var err error
		if len(evs) == 0 {
			evs, err = h.Log.EventsAfter(ctx, acc, after, readBatch)
		}
		if err != nil {
			if ctx.Err() == nil {
				h.Logger.Error().Err(err).Uint64("account_id", uint64(acc)).Msg("reading the event log failed")
			}
			return
		}
		for _, e := range evs {
			for _, effect := range h.Effects {
				effect(e)
			}
		}
		h.mu.Lock()
		f.fresh = false
		if len(evs) > 0 {
			f.read = evs[len(evs)-1].Seq
		}
		// Only accounts someone streams keep recent events in memory.
		if len(evs) > 0 && len(f.subs) > 0 {
			if len(f.ring) > 0 && f.ring[len(f.ring)-1].Seq != evs[0].Seq-1 {
				f.ring = nil
			}
			f.ring = append(f.ring, evs...)
			if over := len(f.ring) - ringSize; over > 0 {
				f.ring = append(f.ring[:0:0], f.ring[over:]...)
			}
		}
		done := len(evs) < readBatch && (target < 0 || f.read >= target)
		if done && f.announced < 0 {
			f.announced = f.read
		}
		if len(evs) > 0 {
			for s := range f.subs {
				s.signal()
			}
		}
		h.mu.Unlock()
		if done || len(evs) == 0 {
			return
		}
	}
}

// takeCarried takes the carried events that follow position after, in
// order, and drops those before it.
func (f *feed) takeCarried(after int64) []Event {
	var out []Event
	for {
		e, ok := f.carried[after+1]
		if !ok {
			break
		}
		out = append(out, e)
		delete(f.carried, after+1)
		after++
	}
	for seq := range f.carried {
		if seq <= after {
			delete(f.carried, seq)
		}
	}
	return out
}

func (h *Hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range h.feeds {
		for s := range f.subs {
			s.closeOnce.Do(func() { close(s.closed) })
		}
	}
}

// Subscription is one stream's interest in an account's events.
type Subscription struct {
	hub       *Hub
	account   parley.ID
	wake      chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

// Subscribe starts following an account. Its first call for an account
// reads the head, so that only events after it are read for it live.
func (h *Hub) Subscribe(ctx context.Context, accountID parley.ID) (*Subscription, error) {
	h.init()
	h.mu.Lock()
	f := h.feeds[accountID]
	h.mu.Unlock()
	if f == nil {
		_, head, err := h.Log.EventBounds(ctx, accountID)
		if err != nil {
			return nil, err
		}
		h.mu.Lock()
		if f = h.feeds[accountID]; f == nil {
			f = &feed{read: head, announced: head}
			h.feeds[accountID] = f
		}
		h.mu.Unlock()
	}
	s := &Subscription{hub: h, account: accountID, wake: make(chan struct{}, 1), closed: make(chan struct{})}
	h.mu.Lock()
	if f.subs == nil {
		f.subs = map[*Subscription]struct{}{}
	}
	f.subs[s] = struct{}{}
	h.mu.Unlock()
	return s, nil
}

func (s *Subscription) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Wake is signalled when the account has new events.
func (s *Subscription) Wake() <-chan struct{} { return s.wake }

// Closed is closed when the hub stops (the instance shuts down).
func (s *Subscription) Closed() <-chan struct{} { return s.closed }

// Head is the last position this instance has read for the account.
func (s *Subscription) Head() int64 {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.hub.feeds[s.account].read
}

// After returns up to limit events after position after that this
// instance has read: from memory when it still holds them, else from the
// log.
func (s *Subscription) After(ctx context.Context, after int64, limit int) ([]Event, error) {
	h := s.hub
	h.mu.Lock()
	f := h.feeds[s.account]
	if after >= f.read {
		h.mu.Unlock()
		return nil, nil
	}
	if len(f.ring) > 0 && after >= f.ring[0].Seq-1 {
		i := int(after - (f.ring[0].Seq - 1))
		end := min(i+limit, len(f.ring))
		// Shared, not copied: the ring only grows past what readers
		// hold and is replaced, never rewritten, when trimmed.
		out := f.ring[i:end:end]
		h.mu.Unlock()
		return out, nil
	}
	upTo := f.read
	h.mu.Unlock()
	evs, err := h.Log.EventsAfter(ctx, s.account, after, limit)
	// Never past what the instance has read: the next wake hands the rest.
	for i, e := range evs {
		if e.Seq > upTo {
			return evs[:i], err
		}
	}
	return evs, err
}

// Close stops following.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	if f := h.feeds[s.account]; f != nil {
		delete(f.subs, s)
	}
	h.mu.Unlock()
	s.closeOnce.Do(func() { close(s.closed) })
}
