package events

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowRenderer counts its calls and takes a while, as a database read does.
type slowRenderer struct {
	calls atomic.Int64
	fail  atomic.Bool
}

func (r *slowRenderer) Render(ctx context.Context, e Event) (Rendered, error) {
	r.calls.Add(1)
	time.Sleep(20 * time.Millisecond)
	if err := ctx.Err(); err != nil {
		return Rendered{}, err
	}
	if r.fail.Load() {
		return Rendered{}, errors.New("database down")
	}
	return Rendered{Data: []byte(`{"seq":` + string(rune('0'+e.Seq)) + `}`)}, nil
}

func TestCachedRendersAnEventOnceForManyStreams(t *testing.T) {
	inner := &slowRenderer{}
	r := Cached(inner, 16)
	e := Event{AccountID: 1, Seq: 3, Type: MessageCreated}
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := r.Render(context.Background(), e)
			if err != nil || string(got.Data) != `{"seq":3}` {
				t.Errorf("render = %s, %v", got.Data, err)
			}
		}()
	}
	wg.Wait()
	if _, err := r.Render(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if n := inner.calls.Load(); n != 1 {
		t.Fatalf("201 renderings of one event read the subject %d times, want 1", n)
	}
	// The same position of another account is another event.
	if _, err := r.Render(context.Background(), Event{AccountID: 2, Seq: 3}); err != nil || inner.calls.Load() != 2 {
		t.Fatalf("another account's event: %v, %d calls", err, inner.calls.Load())
	}
}

func TestCachedKeepsNoErrorAndOutlivesACancelledCaller(t *testing.T) {
	inner := &slowRenderer{}
	inner.fail.Store(true)
	r := Cached(inner, 16)
	e := Event{AccountID: 1, Seq: 4}
	if _, err := r.Render(context.Background(), e); err == nil {
		t.Fatal("the failure was not reported")
	}
	inner.fail.Store(false)
	if got, err := r.Render(context.Background(), e); err != nil || len(got.Data) == 0 {
		t.Fatalf("after the failure: %s, %v; want a fresh rendering", got.Data, err)
	}
	// A stream that went away while rendering does not fail the others.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Render(ctx, Event{AccountID: 1, Seq: 5}); err != nil {
		t.Fatalf("rendering for a gone caller: %v", err)
	}
}

// batchRenderer renders a batch in the time of one event, as one read per
// kind of subject does.
type batchRenderer struct {
	slowRenderer
	batches atomic.Int64
}

func (r *batchRenderer) RenderAll(ctx context.Context, evs []Event) ([]Rendered, error) {
	r.batches.Add(1)
	time.Sleep(20 * time.Millisecond)
	out := make([]Rendered, len(evs))
	for i, e := range evs {
		out[i] = Rendered{Data: []byte(`{"seq":` + string(rune('0'+e.Seq)) + `}`)}
	}
	return out, nil
}

func TestPrefetchRendersABatchTogether(t *testing.T) {
	inner := &batchRenderer{}
	r := Cached(inner, 64)
	var batch []Event
	for seq := int64(1); seq <= 20; seq++ {
		batch = append(batch, Event{AccountID: 1, Seq: seq, Type: MessageCreated})
	}
	batch = append(batch, Event{AccountID: 1, Seq: 21, Type: UserUpdated}) // never sent: not rendered
	start := time.Now()
	r.(Prefetcher).Prefetch(batch)
	r.(Prefetcher).Prefetch(batch) // a second stream with the same batch
	for _, e := range batch[:20] {
		got, err := r.Render(context.Background(), e)
		if err != nil || len(got.Data) == 0 {
			t.Fatalf("render %d: %s, %v", e.Seq, got.Data, err)
		}
	}
	// Event by event, 20 renderings take 400 ms; as a batch, one.
	if took := time.Since(start); took > 200*time.Millisecond {
		t.Errorf("a prefetched batch of 20 took %v to render", took)
	}
	if b, n := inner.batches.Load(), inner.calls.Load(); b != 1 || n != 0 {
		t.Errorf("%d batches and %d single renderings, want the one batch", b, n)
	}
}
