package store

import (
	"fmt"
	"testing"
)

// TestRouteCacheKeepsNothingReadAcrossAChange: a route read while a change
// committed may be the old one, and must not be kept for later webhooks.
func TestRouteCacheKeepsNothingReadAcrossAChange(t *testing.T) {
	var c routeCache
	var m map[string]cachedRoute[string]
	reads := 0
	read := func(v string, during func()) string {
		got, err := cachedRead(&c, &m, "k", nil, func() (string, error) {
			reads++
			if during != nil {
				during()
			}
			return v, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	read("old", c.forget) // a change commits while the old route is read
	if got := read("new", nil); got != "new" || reads != 2 {
		t.Errorf("after a read that a change overtook: got %q after %d reads, want the new route read again", got, reads)
	}
	if got := read("newer", nil); got != "new" || reads != 2 {
		t.Errorf("a fresh route: got %q after %d reads, want the kept one without a read", got, reads)
	}
}

// TestRouteCacheIsBounded: keys hold what the carrier sent, so a flood of
// made-up service ids cannot grow the cache past routeCacheMax.
func TestRouteCacheIsBounded(t *testing.T) {
	var c routeCache
	var m map[string]cachedRoute[int]
	for i := range routeCacheMax + 10 {
		if _, err := cachedRead(&c, &m, fmt.Sprint(i), nil, func() (int, error) { return i, nil }); err != nil {
			t.Fatal(err)
		}
		if len(m) > routeCacheMax {
			t.Fatalf("%d routes kept, want at most %d", len(m), routeCacheMax)
		}
	}
}

// TestRouteCacheKeepsNothingUnheard: where other instances write
// (PostgreSQL), routes are kept only while their changes are heard; a
// connection that drops may have missed some.
func TestRouteCacheKeepsNothingUnheard(t *testing.T) {
	c := routeCache{needsListener: true}
	var m map[string]cachedRoute[int]
	reads := 0
	read := func() {
		if _, err := cachedRead(&c, &m, "k", nil, func() (int, error) { reads++; return reads, nil }); err != nil {
			t.Fatal(err)
		}
	}
	read()
	read()
	if reads != 2 {
		t.Errorf("not listening yet: %d reads of 2 look-ups, want every look-up read", reads)
	}
	c.setListening(true)
	read()
	read()
	if reads != 3 {
		t.Errorf("listening: %d reads, want 3 (the route kept after one read)", reads)
	}
	c.setListening(false) // the connection dropped
	read()
	if reads != 4 {
		t.Errorf("after the connection dropped: %d reads, want the route read again", reads)
	}
}
