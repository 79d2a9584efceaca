package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/store"
	"github.com/parleyhq/parley/store/storetest"
)

// Deliveries end to end below the HTTP API: the store's claims and
// records driven by events.Deliverer against a local receiver.

// subjectRenderer renders an event as {"id": subject}.
type subjectRenderer struct{}

func (subjectRenderer) Render(_ context.Context, e events.Event) (events.Rendered, error) {
	data, _ := json.Marshal(map[string]string{"id": e.SubjectID.String(), "body": "Hi, can I move my appointment to Thursday afternoon?"})
	return events.Rendered{Data: data}, nil
}

// countingReceiver answers 503 while down, else 200, and counts the
// webhook-ids it accepted.
type countingReceiver struct {
	down     atomic.Bool
	mu       sync.Mutex
	accepted map[string]int
	refused  int
	total    atomic.Int64
}

func (rc *countingReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.total.Add(1)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.down.Load() {
		rc.refused++
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if rc.accepted == nil {
		rc.accepted = map[string]int{}
	}
	rc.accepted[r.Header.Get("webhook-id")]++
	w.WriteHeader(http.StatusOK)
}

// counts are the distinct deliveries accepted and the repeats of them.
func (rc *countingReceiver) counts() (distinct, duplicates, refused int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, n := range rc.accepted {
		distinct++
		duplicates += n - 1
	}
	return distinct, duplicates, rc.refused
}

func localDeliverer(db *store.DB, clock parley.Clock) *events.Deliverer {
	g := &events.Guard{AllowPrivate: true}
	return &events.Deliverer{Store: db, Renderer: subjectRenderer{}, Client: g.Client(events.Timeout, 64), Clock: clock, Workers: 64}
}

// TestWebhookOutageLosesNothing: the receiver is down for 10 minutes
// while a text arrives every 5 s (on an injected clock). Once it is back,
// every event reaches it within a minute (its first success brings the
// backlog forward), and none twice.
func TestWebhookOutageLosesNothing(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		a.addEndpoint(t, "message.created")
		rc := &countingReceiver{}
		rc.down.Store(true)
		srv := httptest.NewServer(rc)
		defer srv.Close()
		ep, _, _ := db.ListWebhookEndpoints(ctx, a.account.ID, parley.Page{})
		ep[0].URL = srv.URL
		if _, err := db.UpdateWebhookEndpoint(ctx, ep[0]); err != nil {
			t.Fatal(err)
		}
		clock := &parley.FixedClock{T: t0}
		d := localDeliverer(db, clock)
		deliverAll := func() {
			for {
				n, err := d.DeliverDue(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					return
				}
			}
		}
		texts := 0
		const step = 5 * time.Second
		for ; clock.T.Before(t0.Add(10 * time.Minute)); clock.T = clock.T.Add(step) {
			a.receive(t, text{from: "+14155551234", body: fmt.Sprint("text ", texts), at: clock.T})
			texts++
			deliverAll()
		}
		rc.down.Store(false)
		until := clock.T.Add(3 * time.Hour)
		for ; clock.T.Before(until); clock.T = clock.T.Add(step) {
			deliverAll()
			if got, _, _ := rc.counts(); got == texts {
				break
			}
		}
		distinct, duplicates, refused := rc.counts()
		t.Logf("%d events; %d delivered after the outage (%s after it began), %d duplicates, %d attempts refused during it",
			texts, distinct, clock.T.Sub(t0), duplicates, refused)
		if distinct != texts || duplicates != 0 {
			t.Fatalf("%d of %d events delivered, %d twice", distinct, texts, duplicates)
		}
		if late := clock.T.Sub(t0.Add(10 * time.Minute)); late > time.Minute {
			t.Fatalf("the backlog took %s after the receiver came back", late)
		}
	})
}

// BenchmarkWebhookDelivery is deliveries a second from the log to a
// local receiver: claimed, rendered, signed, sent and recorded by
// Deliverer.Run's pool of 64. Run with -benchtime=1x.
func BenchmarkWebhookDelivery(b *testing.B) {
	const n = 5000
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			for range b.N {
				db := storetest.MustOpen(b, dialect)
				a := newTenant(b, db, sidA, bizA)
				rc := &countingReceiver{}
				srv := httptest.NewServer(rc)
				e, err := events.NewEndpoint(a.account.ID, srv.URL, []string{"message.created"}, "", t0)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := db.CreateWebhookEndpoint(ctx, e); err != nil {
					b.Fatal(err)
				}
				for i := range n {
					a.receive(b, text{from: fmt.Sprintf("+1415555%04d", i%100), body: "hello"})
				}
				d := localDeliverer(db, parley.SystemClock{})
				d.Poll = 10 * time.Millisecond
				b.ResetTimer()
				start := time.Now()
				runCtx, cancel := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { d.Run(runCtx); close(done) }()
				for rc.total.Load() < n {
					time.Sleep(time.Millisecond)
				}
				cancel()
				<-done
				took := time.Since(start)
				b.StopTimer()
				srv.Close()
				if got, dup, _ := rc.counts(); got != n || dup != 0 {
					b.Fatalf("%d delivered, %d twice, want %d once", got, dup, n)
				}
				b.ReportMetric(float64(n)/took.Seconds(), "deliveries/s")
			}
		})
	}
}
