package store

import (
	"cmp"
	"context"
	"sync"
	"time"

	"github.com/parleyhq/parley/conversations"
)

// routeCache keeps the channels that webhooks resolve to. Every inbound
// text and status callback first finds its channel (and, for a text, the
// account's settings) by the carrier's ids; without the cache that is a
// read per webhook, outside the group commit's batch, of rows that change
// only when an admin connects a channel or edits the settings.
//
// Every instance sees a change at once. This process's own writes
// (CreateChannel, UpdateChannel, DisconnectChannel, UpdateSettings) drop everything kept once they commit.
// On PostgreSQL they also notify routesChannel in their transaction, and
// every instance listens (listen.go) and drops its routes on
// a notification; while an instance is not listening (not yet, or its
// connection dropped, when notifications may have been missed) it keeps
// nothing. routeTTL bounds what no notification announces: a change made
// in SQL by hand, or by a command writing to SQLite beside a running
// server. Misses are not kept, nor a number's channel found for a text
// that named a messaging service (connecting that service's channel must
// win at once): a channel just connected is found at once, and webhooks
// for unknown numbers cannot fill the cache. A full cache (routeCacheMax
// entries: a key holds what the carrier sent, not only the channel's ids)
// starts over.
//
// A read that began before a change committed may return what was true
// before it; the generation it started at keeps it from being kept.
type routeCache struct {
	mu      sync.Mutex
	gen     uint64
	inbound map[inboundRouteKey]cachedRoute[conversations.InboundRoute]
	status  map[statusRouteKey]cachedRoute[[]conversations.Channel]
	// ttl is routeTTL unless a test changes it.
	ttl time.Duration
	// needsListener: routes are kept only while listening is true
	// (PostgreSQL, where other instances write).
	needsListener, listening bool
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
	c.forgetLocked()
}

func (c *routeCache) forgetLocked() {
	c.gen++
	c.inbound, c.status = nil, nil
}

// setListening records whether changes are being heard. Either way what
// was kept is dropped: it may have missed a change, or been read before
// the listening began.
func (c *routeCache) setListening(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgetLocked()
	c.listening = on
}

// keeps reports whether routes may be kept now; c.mu is held.
func (c *routeCache) keeps() bool { return !c.needsListener || c.listening }

// cachedRead returns m's fresh entry for key, or reads it with load and
// keeps it unless the cache was forgotten meanwhile or keep (nil: keep
// all) says not to. m is one of c's maps, passed by pointer because
// forget replaces them.
func cachedRead[K comparable, V any](c *routeCache, m *map[K]cachedRoute[V], key K, keep func(V) bool, load func() (V, error)) (V, error) {
	c.mu.Lock()
	e, ok := (*m)[key]
	gen, ttl := c.gen, cmp.Or(c.ttl, routeTTL)
	ok = ok && c.keeps()
	c.mu.Unlock()
	if ok && time.Since(e.at) < ttl {
		return e.v, nil
	}
	v, err := load()
	if err != nil || (keep != nil && !keep(v)) {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen && c.keeps() {
		if *m == nil || len(*m) >= routeCacheMax {
			*m = map[K]cachedRoute[V]{}
		}
		(*m)[key] = cachedRoute[V]{v, time.Now()}
	}
	return v, nil
}

// routesChannel is the PostgreSQL notification channel of route changes.
const routesChannel = "parley_routes"

// announceRouteChange tells every instance, once tx commits, to drop its
// routes (PostgreSQL; SQLite has one instance).
func announceRouteChange(ctx context.Context, tx *Tx) error {
	if !dialectOf(tx).manyInstances() {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, routesChannel)
	return err
}
