package campaigns

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

func TestThrottlePacesEachKey(t *testing.T) {
	var waited []time.Duration
	th := &Throttle{Sleep: func(_ context.Context, d time.Duration) error { waited = append(waited, d); return nil }}
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	wait := func(ch parley.ID, mps float64) {
		if err := th.Wait(context.Background(), ch, mps, now); err != nil {
			t.Fatal(err)
		}
	}
	// Three texts at once on a 2/s channel go out at 0, 0.5 and 1 s.
	wait(1, 2)
	wait(1, 2)
	wait(1, 2)
	if len(waited) != 2 || waited[0] != 500*time.Millisecond || waited[1] != time.Second {
		t.Errorf("waits on a 2/s channel = %v, want [500ms 1s]", waited)
	}
	// Another channel has its own bucket; a channel without a limit never waits.
	waited = nil
	wait(2, 2)
	wait(3, 0)
	wait(3, 0)
	if len(waited) != 0 {
		t.Errorf("independent or unlimited channels waited %v", waited)
	}
	// A second later the 2/s channel's backlog has drained by two tokens.
	now = now.Add(2 * time.Second)
	wait(1, 2)
	if len(waited) != 0 {
		t.Errorf("after the backlog drained: waited %v", waited)
	}
}

// TestDispatcherTakesNearTurnsAndDefersFarOnes: on a 1/s channel the
// dispatcher waits for turns within its poll interval and puts the other
// texts back in the outbox until their turn, without counting an attempt.
func TestDispatcherTakesNearTurnsAndDefersFarOnes(t *testing.T) {
	var items []OutboxItem
	for i := 1; i <= 4; i++ {
		it := item(parley.ID(i), "+1555", PurposeReply, 0)
		it.ChannelID, it.ChannelMPS = 7, 1
		items = append(items, it)
	}
	store := newMemOutbox(items...)
	d := newDispatcher(store, &scriptedSender{})
	var waited []time.Duration
	d.Sleep = func(_ context.Context, w time.Duration) error { waited = append(waited, w); return nil }
	d.Workers, d.Batch, d.Poll = 1, 4, 2*time.Second
	d.init()
	if _, err := d.drainOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(store.sent) != 3 || len(waited) != 2 || waited[0] != time.Second || waited[1] != 2*time.Second {
		t.Errorf("sent %d, waits %v; want 3 sent after waits of 1s and 2s (the clock is fixed)", len(store.sent), waited)
	}
	if at, ok := store.deferred[4]; !ok || !at.Equal(epoch.Add(3*time.Second)) || len(store.retried) != 0 {
		t.Errorf("the fourth text deferred to %v (%v), retried %v; want back in the outbox until its turn at +3s, no attempt counted",
			at, ok, store.retried)
	}
}

// TestThrottleMakesUpLostTimeWithinBounds: at 100/s a campaign starts
// evenly spaced, makes up a 30 ms hiccup at once, and after a long pause
// sends at most PaceCatchUp's worth (5 texts) at once before the spacing
// returns: its rate holds on average, and no second sees much more.
func TestThrottleMakesUpLostTimeWithinBounds(t *testing.T) {
	th := &Throttle{}
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	delays := func(n int) []time.Duration {
		var out []time.Duration
		for range n {
			out = append(out, th.reserve(1, 100, now).DelayFrom(now).Round(time.Millisecond))
		}
		return out
	}
	ms := time.Millisecond
	if got, want := delays(4), []time.Duration{0, 10 * ms, 20 * ms, 30 * ms}; !slices.Equal(got, want) {
		t.Fatalf("a backlog at the start waited %v; want %v (evenly spaced, no burst)", got, want)
	}
	// The fourth text's turn was at +30ms; the next is ready only at
	// +70ms, 30ms late: the four turns due by then (+40 to +70ms) go at
	// once, then the spacing returns.
	now = now.Add(70 * ms)
	if got, want := delays(5), []time.Duration{0, 0, 0, 0, 10 * ms}; !slices.Equal(got, want) {
		t.Errorf("after a 30ms hiccup: waits %v; want %v", got, want)
	}
	now = now.Add(10 * time.Second)
	if got, want := delays(7), []time.Duration{0, 0, 0, 0, 0, 10 * ms, 20 * ms}; !slices.Equal(got, want) {
		t.Errorf("after a long pause: waits %v; want %v (at most 50ms made up)", got, want)
	}
}
