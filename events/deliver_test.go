package events_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/events"
)

var t0 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// fakeRenderer renders a subject as {"id": …, "body": …}.
type fakeRenderer struct{ body string }

func (r fakeRenderer) Render(_ context.Context, e events.Event) (events.Rendered, error) {
	data, _ := json.Marshal(map[string]string{"id": e.SubjectID.String(), "body": r.body})
	return events.Rendered{Data: data}, nil
}

// claimFor is a fresh delivery of a message.created made at created.
func claimFor(url string, created time.Time) events.Claim {
	ev := events.Event{AccountID: 1, Seq: 7, Type: events.MessageCreated, SubjectID: 42, At: created}
	return events.Claim{
		Delivery:  events.Delivery{ID: 9, AccountID: 1, EndpointID: 3, EventSeq: 7, EventType: events.MessageCreated, CreatedAt: created},
		Endpoint:  events.Endpoint{ID: 3, AccountID: 1, URL: url, Secret: specSecret},
		Event:     &ev,
		ClaimedAt: created,
	}
}

// receiver answers each request with the next of its statuses (the last
// repeats) and keeps what it was sent.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	header   http.Header // set on every answer
	got      []request
}

type request struct {
	header http.Header
	body   []byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got = append(rc.got, request{r.Header.Clone(), body})
	status := rc.statuses[min(len(rc.got)-1, len(rc.statuses)-1)]
	rc.mu.Unlock()
	for k, v := range rc.header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, strings.Repeat("x", 3000))
}

func newReceiver(t *testing.T, statuses ...int) (*receiver, string) {
	rc := &receiver{statuses: statuses}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv.URL
}

// localDeliverer delivers to local receivers at the clock's time, with
// no jitter.
func localDeliverer(clock parley.Clock) *events.Deliverer {
	g := &events.Guard{AllowPrivate: true}
	return &events.Deliverer{Client: g.Client(2*time.Second, 4), Clock: clock, Renderer: fakeRenderer{body: "hi"}, Jitter: func() float64 { return 0.5 }}
}

// TestRetriesBackOffForADay runs a delivery to a receiver that always
// answers 500 on an injected clock: each retry waits the next step of
// the schedule, every attempt sends the same bytes with the same
// webhook-id, and the attempt failing a day after the event gives up.
func TestRetriesBackOffForADay(t *testing.T) {
	rc, url := newReceiver(t, 500)
	clock := &parley.FixedClock{T: t0}
	d := localDeliverer(clock)
	c := claimFor(url, t0)
	var waits []time.Duration
	for {
		a := d.Attempt(context.Background(), c)
		if a.Body != nil {
			c.Delivery.Body = a.Body
		}
		c.Delivery.Attempts++
		if a.State != events.DeliveryPending {
			if a.State != events.DeliveryFailed || a.Status != 500 {
				t.Fatalf("last attempt %+v", a)
			}
			break
		}
		waits = append(waits, a.NextAttemptAt.Sub(clock.T))
		clock.T = a.NextAttemptAt
		if len(waits) > 20 {
			t.Fatal("still retrying after 20 attempts")
		}
	}
	want := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	if len(waits) != len(want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	if last := clock.T.Sub(t0); last < events.RetryFor {
		t.Fatalf("gave up %s after the event, want at least %s", last, events.RetryFor)
	}
	if len(rc.got) != len(want)+1 {
		t.Fatalf("the receiver got %d attempts, want %d", len(rc.got), len(want)+1)
	}
	for i, r := range rc.got {
		if string(r.body) != string(rc.got[0].body) || r.header.Get("webhook-id") != "msg_9" {
			t.Fatalf("attempt %d sent %s as %s; the first sent %s", i, r.body, r.header.Get("webhook-id"), rc.got[0].body)
		}
	}
}

func TestRetryDelayIsJittered(t *testing.T) {
	if lo, hi := events.RetryDelay(1, 0), events.RetryDelay(1, 0.9999); lo != 4*time.Second || hi < 5990*time.Millisecond || hi > 6*time.Second {
		t.Fatalf("the first retry waits from %s to %s, want 4s to 6s", lo, hi)
	}
	if got := events.RetryDelay(30, 0.5); got != 10*time.Hour {
		t.Fatalf("a late retry waits %s, want the last step, 10h", got)
	}
}

// TestDeliveryIsSignedAndShaped: the body is {type, timestamp, data}
// with data from the renderer, and the receiver's library verifies it.
func TestDeliveryIsSignedAndShaped(t *testing.T) {
	rc, url := newReceiver(t, 200)
	clock := &parley.FixedClock{T: t0.Add(3 * time.Second)}
	a := localDeliverer(clock).Attempt(context.Background(), claimFor(url, t0))
	if a.State != events.DeliverySucceeded || !a.Answered || a.Status != 200 {
		t.Fatalf("attempt %+v", a)
	}
	if len(a.Excerpt) != 1024 {
		t.Fatalf("excerpt of %d bytes, want the first 1 KiB", len(a.Excerpt))
	}
	r := rc.got[0]
	var body struct {
		Type      string            `json:"type"`
		Timestamp time.Time         `json:"timestamp"`
		Data      map[string]string `json:"data"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || body.Type != "message.created" || !body.Timestamp.Equal(t0) || body.Data["id"] != "42" {
		t.Fatalf("body %s (%v)", r.body, err)
	}
	if r.header.Get("webhook-timestamp") != "1767607203" || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v", r.header)
	}
	wh, _ := standardwebhooks.NewWebhook(specSecret)
	if err := wh.VerifyIgnoringTimestamp(r.body, r.header); err != nil {
		t.Fatalf("the receiver cannot verify it: %v", err)
	}
}

func TestLargeEventsAreTrimmed(t *testing.T) {
	rc, url := newReceiver(t, 200)
	d := localDeliverer(&parley.FixedClock{T: t0})
	d.Renderer = fakeRenderer{body: strings.Repeat("é", 40000)}
	if a := d.Attempt(context.Background(), claimFor(url, t0)); a.State != events.DeliverySucceeded {
		t.Fatalf("attempt %+v", a)
	}
	body := rc.got[0].body
	if len(body) > events.MaxBody || !strings.Contains(string(body), `"data":{"id":"42","truncated":true}`) {
		t.Fatalf("a %d-byte body: %.200s", len(body), body)
	}
}

// markupRenderer renders as the service's renderer does (events.JSON).
type markupRenderer struct{ body string }

func (r markupRenderer) Render(_ context.Context, e events.Event) (events.Rendered, error) {
	data, err := events.JSON(map[string]string{"id": e.SubjectID.String(), "body": r.body})
	return events.Rendered{Data: data}, err
}

// An outcome's metadata may hold 16 KiB of text; written out as \u003c
// each, 16,000 "<" took 96 KB and the event went out trimmed.
func TestMarkupCharactersAreSentAsThemselves(t *testing.T) {
	rc, url := newReceiver(t, 200)
	d := localDeliverer(&parley.FixedClock{T: t0})
	d.Renderer = markupRenderer{body: strings.Repeat("<&>", 16000/3)}
	if a := d.Attempt(context.Background(), claimFor(url, t0)); a.State != events.DeliverySucceeded {
		t.Fatalf("attempt %+v", a)
	}
	body := string(rc.got[0].body)
	if strings.Contains(body, "truncated") || strings.Count(body, "<&>") != 16000/3 || len(body) > 17000 {
		t.Fatalf("a %d-byte body for 16,000 characters of markup: %.200s", len(body), body)
	}
}

// TestAnswersDecideTheDelivery: what each kind of answer does.
func TestAnswersDecideTheDelivery(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		name        string
		status      int
		retryAfter  string
		failingFor  time.Duration // the endpoint's failing state before
		state       events.DeliveryState
		wait        time.Duration // until the next attempt, when pending
		disable     string
		notEndpoint bool
	}{
		{name: "2xx delivers", status: 202, state: events.DeliverySucceeded},
		{name: "5xx is retried", status: 502, state: events.DeliveryPending, wait: 5 * time.Second},
		{name: "408 is retried", status: 408, state: events.DeliveryPending, wait: 5 * time.Second},
		{name: "429 waits its Retry-After", status: 429, retryAfter: "120", state: events.DeliveryPending, wait: 2 * time.Minute},
		{name: "a Retry-After is honoured up to an hour", status: 503, retryAfter: "86400", state: events.DeliveryPending, wait: time.Hour},
		{name: "other 4xx fail", status: 400, state: events.DeliveryFailed},
		{name: "a redirect is not followed", status: 302, state: events.DeliveryFailed},
		{name: "410 disables the endpoint", status: 410, state: events.DeliveryFailed, disable: events.DisabledGone},
		{name: "failing for 5 days disables it", status: 500, failingFor: 5 * day, state: events.DeliveryPending, wait: 5 * time.Second, disable: events.DisabledFailing},
		{name: "failing for 4 days does not", status: 500, failingFor: 4 * day, state: events.DeliveryPending, wait: 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, url := newReceiver(t, tc.status)
			if tc.retryAfter != "" {
				rc.header = http.Header{"Retry-After": {tc.retryAfter}}
			}
			at := t0.Add(time.Minute)
			c := claimFor(url+"/hook", t0)
			if tc.failingFor > 0 {
				since := at.Add(-tc.failingFor)
				c.Endpoint.FailingSince = &since
			}
			a := localDeliverer(&parley.FixedClock{T: at}).Attempt(context.Background(), c)
			if a.State != tc.state || a.Status != tc.status || a.Disable != tc.disable {
				t.Fatalf("attempt %+v", a)
			}
			if tc.state == events.DeliveryPending && a.NextAttemptAt.Sub(at) != tc.wait {
				t.Fatalf("next attempt in %s, want %s", a.NextAttemptAt.Sub(at), tc.wait)
			}
			if a.Answered != (tc.state == events.DeliverySucceeded) || a.Failed == a.Answered {
				t.Fatalf("the endpoint answered %v, failed %v", a.Answered, a.Failed)
			}
			if len(rc.got) != 1 {
				t.Fatalf("the receiver got %d requests", len(rc.got))
			}
		})
	}
}

func TestTimeoutsAndConnectionErrorsAreRetried(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(300 * time.Millisecond) }))
	defer slow.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	g := &events.Guard{AllowPrivate: true}
	for name, url := range map[string]string{"timeout": slow.URL, "refused": closedURL} {
		t.Run(name, func(t *testing.T) {
			d := &events.Deliverer{Client: g.Client(100*time.Millisecond, 1), Clock: &parley.FixedClock{T: t0}, Renderer: fakeRenderer{}, Jitter: func() float64 { return 0.5 }}
			a := d.Attempt(context.Background(), claimFor(url, t0))
			if a.State != events.DeliveryPending || a.NextAttemptAt.Sub(t0) != 5*time.Second || a.Status != 0 || !a.Failed || a.Error == "" {
				t.Fatalf("attempt %+v", a)
			}
		})
	}
}

func TestAGoneSubjectIsNotSent(t *testing.T) {
	rc, url := newReceiver(t, 200)
	d := localDeliverer(&parley.FixedClock{T: t0})
	c := claimFor(url, t0)
	c.Event = nil // pruned from the log
	if a := d.Attempt(context.Background(), c); a.State != events.DeliveryFailed || a.Failed || !strings.Contains(a.Error, "no longer in the log") {
		t.Fatalf("attempt %+v", a)
	}
	if len(rc.got) != 0 {
		t.Fatal("something was sent")
	}
}

// memStore hands out its claims once and keeps what is recorded.
type memStore struct {
	mu       sync.Mutex
	claims   []events.Claim
	recorded map[parley.ID]int
}

func (s *memStore) ClaimWebhookDeliveries(_ context.Context, _ time.Time, _ time.Duration, limit int) ([]events.Claim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(limit, len(s.claims))
	out := s.claims[:n]
	s.claims = s.claims[n:]
	return out, nil
}

func (s *memStore) RecordWebhookAttempts(_ context.Context, as []events.Attempt) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range as {
		s.recorded[a.DeliveryID]++
	}
	return nil
}

// TestRunRecordsEveryClaimBeforeReturning: stopped while deliveries are
// in flight, Run finishes and records each one (none is left leased).
func TestRunRecordsEveryClaimBeforeReturning(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(20 * time.Millisecond) }))
	defer slow.Close()
	st := &memStore{recorded: map[parley.ID]int{}}
	for i := range 100 {
		c := claimFor(slow.URL, t0)
		c.Delivery.ID = parley.ID(i + 1)
		st.claims = append(st.claims, c)
	}
	d := localDeliverer(&parley.FixedClock{T: t0})
	d.Store, d.Workers, d.Batch = st, 8, 8
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	<-done
	st.mu.Lock()
	defer st.mu.Unlock()
	claimed := 100 - len(st.claims)
	if claimed == 0 || claimed == 100 {
		t.Fatalf("%d claimed before the stop; the test wants some, not all", claimed)
	}
	if len(st.recorded) != claimed {
		t.Fatalf("%d claimed, %d recorded", claimed, len(st.recorded))
	}
	for id, n := range st.recorded {
		if n != 1 {
			t.Errorf("delivery %d recorded %d times", id, n)
		}
	}
}

func TestASuccessAfterFailuresIsARecovery(t *testing.T) {
	_, url := newReceiver(t, 200)
	d := localDeliverer(&parley.FixedClock{T: t0})
	c := claimFor(url, t0)
	if a := d.Attempt(context.Background(), c); a.Recovered {
		t.Fatal("a success of a healthy endpoint is a recovery")
	}
	since := t0.Add(-time.Hour)
	c.Endpoint.FailingSince = &since
	if a := d.Attempt(context.Background(), c); !a.Recovered || !a.Answered {
		t.Fatalf("a success of a failing endpoint: %+v, want a recovery", a)
	}
}

// countingStore counts the Deliverer's looks for due deliveries; it has
// none.
type countingStore struct{ looks atomic.Int32 }

func (s *countingStore) ClaimWebhookDeliveries(context.Context, time.Time, time.Duration, int) ([]events.Claim, error) {
	s.looks.Add(1)
	return nil, nil
}
func (s *countingStore) RecordWebhookAttempts(context.Context, []events.Attempt) error { return nil }

// TestTheDelivererWakesForBookedDeliveries: a commit that booked no
// deliveries (most of them: their events' types have no endpoint) costs
// the deliverer nothing, nor does another instance's; one of this
// process that booked some, or cannot tell, makes it look at once
// rather than at its next poll.
func TestTheDelivererWakesForBookedDeliveries(t *testing.T) {
	st := &countingStore{}
	d := localDeliverer(&parley.FixedClock{T: t0})
	d.Store, d.Poll = st, time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	looksAfter := func(want int32) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for st.looks.Load() < want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond) // and no more
		if got := st.looks.Load(); got != want {
			t.Fatalf("looked %d times, want %d", got, want)
		}
	}
	committed := func(first, last int64, deliveries int) events.Announcement { // here, with its events
		evs := make([]events.Event, last-first+1)
		return events.Announcement{AccountID: 1, First: first, Last: last, Events: evs, Deliveries: deliveries}
	}
	looksAfter(1) // as it starts
	for range 50 {
		d.Announced(committed(1, 2, 0))
		d.Announced(events.Announcement{AccountID: 1, First: 1, Last: 2, Deliveries: events.DeliveriesUnknown}) // notified
	}
	looksAfter(1)
	d.Announced(committed(3, 4, 2))
	looksAfter(2)
	d.Announced(committed(5, 5, events.DeliveriesUnknown))
	looksAfter(3)
	d.CatchUp()
	looksAfter(4)
}
