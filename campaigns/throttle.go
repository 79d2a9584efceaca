package campaigns

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/parleyhq/parley"
)

// Throttle paces sends per key (a campaign) with token buckets
// (golang.org/x/time/rate). Texts ready in time go out evenly spaced; a
// campaign that fell behind (a slow claim, a busy database) makes up at
// most PaceCatchUp of lost time at once, so that its rate holds on
// average and no second sees much more than it. The buckets are the
// process's own; a sender channel's limit, which must hold exactly and
// across instances, is booked in the database instead
// (OutboxStore.BookTurn).
type Throttle struct {
	// Sleep waits; tests replace it to observe the pacing without waiting.
	Sleep func(ctx context.Context, d time.Duration) error

	mu      sync.Mutex
	buckets map[parley.ID]*rate.Limiter
}

// Wait blocks until key may send one more text at time now. A key
// without a limit (mps 0) never waits.
func (t *Throttle) Wait(ctx context.Context, key parley.ID, mps float64, now time.Time) error {
	if r := t.reserve(key, mps, now); r != nil {
		if d := r.DelayFrom(now); d > 0 {
			return t.sleep(ctx, d)
		}
	}
	return nil
}

// PaceCatchUp is how much lost time a campaign's bucket may make up at
// once: with a burst of one, every late text was a turn lost for good,
// and campaigns sent 3–5% under their rate.
const PaceCatchUp = 50 * time.Millisecond

// reserve books the next turn of key's bucket at now: nil when there is
// no limit (mps 0). A burst of at least one always allows a turn, later
// or not.
func (t *Throttle) reserve(key parley.ID, mps float64, now time.Time) *rate.Reservation {
	if mps <= 0 {
		return nil
	}
	return t.bucket(key, mps, now).ReserveN(now, 1)
}

func (t *Throttle) bucket(key parley.ID, mps float64, now time.Time) *rate.Limiter {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.buckets == nil {
		t.buckets = map[parley.ID]*rate.Limiter{}
	}
	b, ok := t.buckets[key]
	if !ok {
		// The bucket starts with one token, not a full burst: a campaign
		// starts evenly spaced, and saves up only while it is behind.
		burst := catchUpBurst(mps)
		b = rate.NewLimiter(rate.Limit(mps), burst)
		b.AllowN(now, burst-1)
		t.buckets[key] = b
	} else if b.Limit() != rate.Limit(mps) {
		b.SetLimitAt(now, rate.Limit(mps)) // the setting changed
		b.SetBurstAt(now, catchUpBurst(mps))
	}
	return b
}

// catchUpBurst is the burst that makes up PaceCatchUp at mps.
func catchUpBurst(mps float64) int {
	return max(1, int(mps*PaceCatchUp.Seconds()))
}

func (t *Throttle) sleep(ctx context.Context, d time.Duration) error {
	if t.Sleep != nil {
		return t.Sleep(ctx, d)
	}
	return sleep(ctx, d)
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
