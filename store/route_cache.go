package store

import (
	"cmp"
	"sync"
	"time"

	"github.com/parleyhq/parley/conversations"
)

// routeCache keeps the channels that webhooks resolve to. Every inbound
// text and status callback first finds its channel (and, for a text, the
// account's settings) by the carrier's ids; on a busy number that was a
// read per webhook of rows that change only when an admin connects a
// channel or edits the settings. It was the ingest path's one statement
// outside the group commit's batch, and at 16 concurrent webhooks the
// round trip on a loaded machine cost more than the read.
//
// Staleness is bounded two ways. This process's own writes (CreateChannel,
// UpdateSettings) drop everything kept once they commit, so a change made
// through this instance's API is seen by its next webhook. Another
// instance's writes, or a command writing to the database beside a
// running server, are seen within routeTTL, the age after which an entry is
// read again. Misses are not kept: a channel just connected is found at
// once, and webhooks for unknown numbers cannot fill the cache; a full
// cache (routeCacheMax entries: a key holds the service id the carrier
// sent, not only the channel's) starts over.
//
// A read that began before a write committed may return what was true
// before it; the generation it started at keeps it from being kept.
type routeCache struct {
	mu      sync.Mutex
	gen     uint64
	inbound map[inboundRouteKey]cachedRoute[conversations.InboundRoute]
	status  map[statusRouteKey]cachedRoute[conversations.Channel]
	// ttl is routeTTL unless a test shortens it.
	ttl time.Duration
}

const (
	routeTTL      = 2 * time.Second
	routeCacheMax = 10_000
)

type inboundRouteKey struct{ carrier, carrierAccountID, to, serviceSID string }

type statusRouteKey struct{ carrier, carrierAccountID string }

type cachedRoute[T any] struct {
	v  T
	at time.Time
}

// forget drops every kept route: a channel or an account's settings
// changed. Called after the change commits.
func (c *routeCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.inbound, c.status = nil, nil
}

// cachedRead returns m's fresh entry for key, or reads it with load and
// keeps it unless the cache was forgotten meanwhile. m is one of c's maps,
// passed by pointer because forget replaces them.
func cachedRead[K comparable, V any](c *routeCache, m *map[K]cachedRoute[V], key K, load func() (V, error)) (V, error) {
	c.mu.Lock()
	e, ok := (*m)[key]
	gen, ttl := c.gen, cmp.Or(c.ttl, routeTTL)
	c.mu.Unlock()
	if ok && time.Since(e.at) < ttl {
		return e.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		if *m == nil || len(*m) >= routeCacheMax {
			*m = map[K]cachedRoute[V]{}
		}
		(*m)[key] = cachedRoute[V]{v, time.Now()}
	}
	return v, nil
}
