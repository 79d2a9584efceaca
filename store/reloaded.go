package store

import (
	"sync"
	"time"
)

// reloaded keeps a value read from the database for a while: callers
// share it until it is maxAge old, then the next one reads it again (the
// search's word statistics, the recent search index's cutoff).
type reloaded[T any] struct {
	mu sync.Mutex
	at time.Time
	v  T
}

// get returns the kept value, reading it with load when there is none yet
// or it is older than maxAge. A value load says not to keep (a failed
// read) is returned once, and the next caller reads again.
func (r *reloaded[T]) get(maxAge time.Duration, load func() (v T, keep bool)) T {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.at.IsZero() && time.Since(r.at) < maxAge {
		return r.v
	}
	v, keep := load()
	if keep {
		r.v, r.at = v, time.Now()
	}
	return v
}

// forget makes the next get read the value again.
func (r *reloaded[T]) forget() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.at = time.Time{}
}
