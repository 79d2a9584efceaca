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
		got, err := cachedRead(&c, &m, "k", func() (string, error) {
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
		if _, err := cachedRead(&c, &m, fmt.Sprint(i), func() (int, error) { return i, nil }); err != nil {
			t.Fatal(err)
		}
		if len(m) > routeCacheMax {
			t.Fatalf("%d routes kept, want at most %d", len(m), routeCacheMax)
		}
	}
}
