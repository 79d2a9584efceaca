package routing

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/events"
)

// Assigner runs auto-assignment off the request path. Ingest and staff
// actions tell it what changed after their transactions commit; it never
// blocks them. Nothing is lost if a process dies with work queued: the
// periodic Sweep assigns every conversation still waiting.
type Assigner struct {
	Store Store
	Clock parley.Clock
	Log   zerolog.Logger
	// OnDecision, when set, sees every decision and how long it took.
	OnDecision func(d Decision, took time.Duration)

	once  sync.Once
	queue chan job
	// sweeping holds the accounts with a sweep queued: many freed places
	// in a row need one walk of the backlog, not one each.
	mu       sync.Mutex
	sweeping map[parley.ID]bool
	// allowed caches whether each account allows auto-assignment, for
	// allowedFor; settings.updated drops an account's entry.
	allowed map[parley.ID]allowedEntry
}

type allowedEntry struct {
	on bool
	at time.Time
}

// allowedTTL bounds how long a cached setting is trusted without a
// settings.updated event to say it changed (one might be read late).
const allowedTTL = 30 * time.Second

type job struct {
	accountID      parley.ID
	conversationID parley.ID // 0: sweep the account's backlog
	// ifAllowed: skip unless the account allows auto-assignment (an
	// event's job; most accounts never switch it on).
	ifAllowed bool
}

// queueSize bounds the work waiting in memory; beyond it work is left to
// the periodic sweep rather than slowing the caller.
const queueSize = 10_000

func (a *Assigner) init() {
	a.once.Do(func() {
		a.queue = make(chan job, queueSize)
		a.sweeping = map[parley.ID]bool{}
		a.allowed = map[parley.ID]allowedEntry{}
	})
}

// Assign asks for a conversation that became new or open without an
// assignee to be assigned.
func (a *Assigner) Assign(accountID, conversationID parley.ID) {
	a.enqueue(job{accountID: accountID, conversationID: conversationID})
}

// React is the assigner's effect: it runs on every committed event (see
// ReactionTo) and only queues work.
func (a *Assigner) React(e events.Event) {
	switch ReactionTo(e) {
	case AssignConversation:
		a.enqueue(job{accountID: e.AccountID, conversationID: e.ConversationID, ifAllowed: true})
	case FillFreedCapacity:
		if e.Type == events.SettingsUpdated {
			a.mu.Lock()
			delete(a.allowed, e.AccountID)
			a.mu.Unlock()
		}
		a.CapacityFreed(e.AccountID)
	}
}

// allowedFor reports whether an account allows auto-assignment, from the
// cache when it is fresh.
func (a *Assigner) allowedFor(ctx context.Context, accountID parley.ID) bool {
	a.mu.Lock()
	e, ok := a.allowed[accountID]
	a.mu.Unlock()
	if ok && time.Since(e.at) < allowedTTL {
		return e.on
	}
	on, err := a.Store.AutoAssignAllowed(ctx, accountID)
	if err != nil {
		return true // AutoAssign checks again
	}
	a.mu.Lock()
	a.allowed[accountID] = allowedEntry{on, time.Now()}
	a.mu.Unlock()
	return on
}

// CapacityFreed asks for the account's waiting conversations to be
// assigned: a conversation was resolved, closed or unassigned, a user
// became available or a capacity was raised.
func (a *Assigner) CapacityFreed(accountID parley.ID) {
	a.init()
	a.mu.Lock()
	queued := a.sweeping[accountID]
	a.sweeping[accountID] = true
	a.mu.Unlock()
	if !queued && !a.enqueue(job{accountID: accountID}) {
		a.mu.Lock()
		delete(a.sweeping, accountID)
		a.mu.Unlock()
	}
}

func (a *Assigner) enqueue(j job) bool {
	a.init()
	select {
	case a.queue <- j:
		return true
	default:
		a.Log.Warn().Msg("auto-assignment queue full; the periodic sweep will catch up")
		return false
	}
}

// Run works the queue until ctx ends.
func (a *Assigner) Run(ctx context.Context) {
	a.init()
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-a.queue:
			if j.conversationID == 0 {
				// Clear the mark first: a place freed during the walk
				// queues the next one.
				a.mu.Lock()
				delete(a.sweeping, j.accountID)
				a.mu.Unlock()
				a.Sweep(ctx, j.accountID)
			} else if !j.ifAllowed || a.allowedFor(ctx, j.accountID) {
				a.assign(ctx, j.accountID, j.conversationID)
			}
		}
	}
}

// sweepBatch is how many waiting conversations one sweep looks at.
const sweepBatch = 200

// Sweep assigns waiting conversations, longest-waiting first: of one
// account, or of every account that allows auto-assignment when accountID
// is 0. It pages through all of them, so conversations nobody can take
// (a team away) never hide the ones behind them that someone can.
func (a *Assigner) Sweep(ctx context.Context, accountID parley.ID) {
	var after Waiting
	for ctx.Err() == nil {
		waiting, err := a.Store.WaitingConversations(ctx, accountID, after, sweepBatch)
		if err != nil {
			if ctx.Err() == nil {
				a.Log.Error().Err(err).Msg("listing waiting conversations failed")
			}
			return
		}
		for _, w := range waiting {
			if ctx.Err() != nil {
				return
			}
			a.assign(ctx, w.AccountID, w.ID)
		}
		if len(waiting) < sweepBatch {
			return
		}
		after = waiting[len(waiting)-1]
	}
}

func (a *Assigner) assign(ctx context.Context, accountID, conversationID parley.ID) {
	start := time.Now()
	d, err := a.Store.AutoAssign(ctx, accountID, conversationID, a.Clock.Now())
	if err != nil {
		if ctx.Err() == nil && !parley.IsKind(err, parley.ENOTFOUND) {
			a.Log.Error().Err(err).Stringer("conversation_id", conversationID).Msg("auto-assignment failed")
		}
		return
	}
	if a.OnDecision != nil {
		a.OnDecision(d, time.Since(start))
	}
}

// Waiting is a conversation waiting for an assignee since Since (when it
// last became new or open without one); ID breaks ties.
type Waiting struct {
	AccountID parley.ID
	ID        parley.ID
	Since     time.Time
}
