package store

import (
	"testing"
	"time"
)

func TestReloaded(t *testing.T) {
	var r reloaded[int]
	loads := 0
	load := func(keep bool) func() (int, bool) {
		return func() (int, bool) { loads++; return loads, keep }
	}
	if v := r.get(time.Hour, load(false)); v != 1 {
		t.Fatalf("first get = %d, want 1", v)
	}
	if v := r.get(time.Hour, load(true)); v != 2 {
		t.Fatalf("a value not kept was kept: get = %d, want 2", v)
	}
	if v := r.get(time.Hour, load(true)); v != 2 || loads != 2 {
		t.Fatalf("a kept value was read again: get = %d after %d loads", v, loads)
	}
	r.forget()
	if v := r.get(time.Hour, load(true)); v != 3 {
		t.Fatalf("after forget get = %d, want 3", v)
	}
	if v := r.get(0, load(true)); v != 4 {
		t.Fatalf("an old value was kept: get = %d, want 4", v)
	}
}
