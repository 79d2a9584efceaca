package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/parleyhq/parley"
)

// Delivery limits (API.md, "Live updates and outbound webhooks").
const (
	// Timeout bounds one attempt, from connecting to the last byte read.
	Timeout = 10 * time.Second
	// MaxBody is the largest body sent; a bigger event is sent trimmed
	// (see Envelope).
	MaxBody = 64 << 10
	// RetryFor is how long a failing delivery is retried: the attempt
	// that fails this long after the event gives up.
	RetryFor = 24 * time.Hour
	// maxExcerpt bounds the part of a receiver's answer that is kept.
	maxExcerpt = 1 << 10
	// maxRetryAfter is the longest a receiver's Retry-After is honoured.
	maxRetryAfter = time.Hour
)

// backoff is the wait after the nth failed attempt (Standard Webhooks'
// suggested schedule), each jittered by ±20% so that receivers coming
// back from an outage are not hit by every delivery at once. The last
// step repeats until RetryFor has passed: about eight attempts.
var backoff = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour}

// RetryDelay is the wait after a delivery's attempts-th failed attempt,
// jitter in [0, 1) spreading it by ±20%.
func RetryDelay(attempts int, jitter float64) time.Duration {
	i := min(max(attempts-1, 0), len(backoff)-1)
	return time.Duration(float64(backoff[i]) * (0.8 + 0.4*jitter))
}

// Claim is a delivery leased to this process, with what sending it takes.
type Claim struct {
	Delivery Delivery
	// Endpoint has its URL, secrets and failing state.
	Endpoint Endpoint
	// Event is the logged event, for a delivery whose body is not
	// rendered yet; nil when the log no longer has it.
	Event *Event
	// ClaimedAt identifies this claim: an attempt recorded under an older
	// one (its lease expired and another process took it) is dropped.
	ClaimedAt time.Time
}

// Attempt is what became of one attempt, to record.
type Attempt struct {
	DeliveryID, EndpointID, AccountID parley.ID
	ClaimedAt                         time.Time
	At                                time.Time
	// Body is stored when the attempt rendered it, to be sent unchanged
	// by the next; nil leaves the stored body.
	Body    []byte
	Status  int
	Latency time.Duration
	Error   string
	Excerpt string
	// State is pending again (NextAttemptAt), succeeded or failed.
	State         DeliveryState
	NextAttemptAt time.Time
	// Answered: the endpoint took the delivery (clears its failing state);
	// Failed: it did not (starts it). Neither: the failure was not the
	// endpoint's (the event could not be rendered).
	Answered, Failed bool
	// Recovered: the endpoint answered after failing; its deliveries
	// waiting out a backoff are due at once, not hours later.
	Recovered bool
	// Disable, when set, disables the endpoint for this reason and tells
	// the account's admins.
	Disable string
}

// DeliveryStore is what the Deliverer needs of the database.
type DeliveryStore interface {
	// ClaimWebhookDeliveries leases up to limit due pending deliveries of
	// enabled endpoints until now+lease; across processes each is claimed
	// by one at a time, and one whose lease ran out comes back.
	ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Claim, error)
	// RecordWebhookAttempts records attempts in one transaction, ignoring
	// those whose claim was taken over; disabling an endpoint notifies its
	// account's admins.
	RecordWebhookAttempts(ctx context.Context, attempts []Attempt) error
}

// Deliverer sends webhook deliveries: it claims due ones, sends each
// signed, and records how it went. Several Deliverers (in one or many
// processes) may share the deliveries: claims are leases.
type Deliverer struct {
	Store    DeliveryStore
	Renderer Renderer
	// Client sends; Guard.Client's keeps it off non-public addresses.
	Client *http.Client
	Clock  parley.Clock
	Log    zerolog.Logger
	// Workers is how many deliveries are in flight at once.
	Workers int
	// Batch is the most one claim takes.
	Batch int
	// Lease must outlast an attempt and its recording.
	Lease time.Duration
	// Poll is how often due deliveries are looked for without a Wake.
	Poll time.Duration
	// Jitter is a number in [0, 1) spreading each retry; rand by default.
	Jitter func() float64

	once sync.Once
	wake chan struct{}
}

func (d *Deliverer) init() {
	d.once.Do(func() {
		d.wake = make(chan struct{}, 1)
		if d.Workers <= 0 {
			d.Workers = 64
		}
		if d.Batch <= 0 {
			d.Batch = 128
		}
		if d.Lease <= 0 {
			d.Lease = time.Minute
		}
		if d.Poll <= 0 {
			d.Poll = time.Second
		}
		if d.Jitter == nil {
			d.Jitter = rand.Float64
		}
		if d.Client == nil {
			d.Client = (&Guard{}).Client(Timeout, d.Workers)
		}
	})
}

// Wake makes the Deliverer look for due deliveries now: some were made.
func (d *Deliverer) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Announced wakes the Deliverer when a transaction of this process booked
// deliveries with its events (store/tx.go books them in the transaction),
// or may have: most events are of types no endpoint subscribes to, and a
// wake with nothing due still costs a read. Another instance's commits
// (announced without their events) are its own deliverer's to wake for;
// every deliverer's poll finds what any left.
func (d *Deliverer) Announced(ann Announcement) {
	if len(ann.Events) > 0 && ann.Deliveries != 0 {
		d.Wake()
	}
}

// CatchUp wakes the Deliverer: announcements may have been lost.
func (d *Deliverer) CatchUp() { d.Wake() }

// Run delivers until ctx is cancelled. Every claimed delivery is
// attempted and recorded before it returns: shutdown leaves none leased.
// Deliveries are claimed as workers free up, and results recorded in
// batches as they come, so a slow receiver holds one worker, not a batch.
func (d *Deliverer) Run(ctx context.Context) {
	d.init()
	// A slot is taken per claimed delivery and given back once its
	// attempt is recorded.
	slots := make(chan struct{}, d.Workers)
	results := make(chan Attempt, d.Workers)
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		d.recordLoop(results, slots)
	}()
	sendCtx := context.WithoutCancel(ctx)
	var inflight sync.WaitGroup
	for {
		n := d.takeSlots(ctx, slots)
		if n == 0 {
			break
		}
		claims, err := d.Store.ClaimWebhookDeliveries(ctx, d.Clock.Now(), d.Lease, n)
		if err != nil && ctx.Err() == nil {
			d.Log.Error().Err(err).Msg("claiming webhook deliveries failed")
		}
		for range n - len(claims) {
			<-slots
		}
		for _, c := range claims {
			inflight.Add(1)
			go func() {
				defer inflight.Done()
				results <- d.Attempt(sendCtx, c)
			}()
		}
		if len(claims) == n && err == nil {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-time.After(d.Poll):
		}
	}
	inflight.Wait()
	close(results)
	<-recorded
}

// takeSlots waits for a free worker and takes up to Batch; 0 once ctx
// is done.
func (d *Deliverer) takeSlots(ctx context.Context, slots chan struct{}) int {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return 0
	}
	n := 1
	for n < d.Batch {
		select {
		case slots <- struct{}{}:
			n++
		default:
			return n
		}
	}
	return n
}

// recordLoop records attempts as they finish, as many at once as have
// finished, and frees their slots.
func (d *Deliverer) recordLoop(results <-chan Attempt, slots chan struct{}) {
	for a := range results {
		batch := []Attempt{a}
	more:
		for len(batch) < 256 {
			select {
			case a, ok := <-results:
				if !ok {
					break more
				}
				batch = append(batch, a)
			default:
				break more
			}
		}
		d.record(batch)
		for range batch {
			<-slots
		}
	}
}

func (d *Deliverer) record(batch []Attempt) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Unrecorded, the deliveries come back when their lease ends and are
	// sent again: at least once.
	if err := d.Store.RecordWebhookAttempts(ctx, batch); err != nil {
		d.Log.Error().Err(err).Int("attempts", len(batch)).Msg("recording webhook attempts failed")
	}
	for _, a := range batch {
		if a.Disable != "" {
			d.Log.Warn().Stringer("endpoint_id", a.EndpointID).Str("reason", a.Disable).Msg("webhook endpoint disabled")
		}
	}
}

// DeliverDue claims what is due now, attempts it all and records it: one
// round of Run, synchronously (tests, tools). It returns how many it
// attempted.
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	d.init()
	claims, err := d.Store.ClaimWebhookDeliveries(ctx, d.Clock.Now(), d.Lease, d.Batch)
	if err != nil || len(claims) == 0 {
		return 0, err
	}
	out := make([]Attempt, len(claims))
	sem := make(chan struct{}, d.Workers)
	var wg sync.WaitGroup
	for i, c := range claims {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = d.Attempt(ctx, c)
		}()
	}
	wg.Wait()
	return len(out), d.Store.RecordWebhookAttempts(ctx, out)
}

// Attempt sends a claimed delivery once and says what became of it.
func (d *Deliverer) Attempt(ctx context.Context, c Claim) Attempt {
	d.init()
	now := d.Clock.Now()
	a := Attempt{DeliveryID: c.Delivery.ID, EndpointID: c.Endpoint.ID, AccountID: c.Delivery.AccountID, ClaimedAt: c.ClaimedAt, At: now}
	body := c.Delivery.Body
	if body == nil {
		var err error
		body, err = d.render(ctx, c)
		switch {
		case errors.Is(err, errNothingToSend):
			a.State, a.Error = DeliveryFailed, err.Error()
			return a
		case err != nil:
			// Not the endpoint's fault: tried again later, like a failure.
			d.Log.Error().Err(err).Stringer("delivery_id", c.Delivery.ID).Msg("rendering a webhook event failed")
			a.Error = "the event could not be rendered"
			return d.retry(a, c, 0)
		}
		a.Body = body
	}
	res := d.send(ctx, c, body, now)
	a.Status, a.Latency, a.Error, a.Excerpt = res.status, res.latency, res.err, res.excerpt
	return d.judge(a, c, res)
}

var errNothingToSend = errors.New("nothing to send")

// render makes the body of a logged event.
func (d *Deliverer) render(ctx context.Context, c Claim) ([]byte, error) {
	if c.Event == nil {
		return nil, fmt.Errorf("%w: the event is no longer in the log", errNothingToSend)
	}
	if d.Renderer == nil {
		return nil, errors.New("no renderer")
	}
	r, err := d.Renderer.Render(ctx, *c.Event)
	if err != nil {
		return nil, err
	}
	if r.Gone {
		return nil, fmt.Errorf("%w: what the event is about no longer exists", errNothingToSend)
	}
	return Envelope(*c.Event, r.Data)
}

// Envelope is a delivery's body: {"type", "timestamp", "data"}, data as
// the matching GET returns it. Past MaxBody the data is trimmed to
// {"id", "truncated": true}: the receiver fetches the subject by its id.
func Envelope(e Event, data json.RawMessage) ([]byte, error) {
	type envelope struct {
		Type      Type            `json:"type"`
		Timestamp time.Time       `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	at := e.At.UTC()
	body, err := JSON(envelope{e.Type, at, data})
	if err != nil || len(body) <= MaxBody {
		return body, err
	}
	trimmed, err := json.Marshal(map[string]any{"id": e.SubjectID.String(), "truncated": true})
	if err != nil {
		return nil, err
	}
	return JSON(envelope{e.Type, at, trimmed})
}

// JSON encodes v as streams and deliveries carry it: without escaping <,
// > and & (json.Marshal's guard for HTML pages), which made a body of
// valid text up to six times its size and trimmed it past MaxBody.
func JSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// TestEnvelope is the body of a "send test event" delivery.
func TestEnvelope(endpointID parley.ID, at time.Time) []byte {
	body, _ := json.Marshal(map[string]any{"type": TestType, "timestamp": at.UTC(),
		"data": map[string]any{"endpoint_id": endpointID.String(), "message": "This is a test event from Parley."}})
	return body
}

// answer is what one HTTP attempt got.
type answer struct {
	status    int
	latency   time.Duration
	excerpt   string
	err       string
	forbidden bool // the guard refused the address
	retryable bool // a timeout or a connection error
	after     time.Duration
}

func (d *Deliverer) send(ctx context.Context, c Claim, body []byte, now time.Time) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint.URL, bytes.NewReader(body))
	if err != nil {
		return answer{err: "the endpoint's URL cannot be requested"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Parley-Webhooks/1")
	if err := signedHeaders(req.Header, c.Endpoint.Secrets(now), c.Delivery.MessageID(), now, body); err != nil {
		return answer{err: "the endpoint's secret cannot sign"}
	}
	start := time.Now()
	res, err := d.Client.Do(req)
	if err != nil {
		a := answer{latency: time.Since(start), err: describe(err)}
		a.forbidden = errors.Is(err, ErrForbiddenAddress)
		a.retryable = !a.forbidden
		return a
	}
	defer res.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(res.Body, maxExcerpt))
	// Read a little more so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	a := answer{status: res.StatusCode, latency: time.Since(start), excerpt: excerpt(head)}
	a.after = retryAfter(res.Header.Get("Retry-After"), now)
	return a
}

// describe says why a request got no answer, without Go's wrapping.
func describe(err error) string {
	var ue interface{ Timeout() bool }
	switch {
	case errors.Is(err, ErrForbiddenAddress):
		return "refused: " + err.Error()[strings.Index(err.Error(), ErrForbiddenAddress.Error()):]
	case errors.As(err, &ue) && ue.Timeout():
		return fmt.Sprintf("timed out after %s", Timeout)
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "Post ") {
		msg = msg[i+2:]
	}
	return "connection failed: " + msg
}

// excerpt is valid UTF-8 of at most maxExcerpt bytes.
func excerpt(b []byte) string {
	for len(b) > 0 && !utf8.Valid(b) {
		b = b[:len(b)-1] // a rune cut at the limit
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// retryAfter reads a Retry-After header (seconds or an HTTP date); 0
// when absent or unreadable.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return t.Sub(now)
	}
	return 0
}

// judge decides what the answer means: 2xx is delivered; 410 fails it
// and disables the endpoint; a timeout, a connection error, 408, 429 and
// 5xx are retried; any other answer (a 3xx included: redirects are not
// followed) fails it. A non-public address fails it: retrying would not
// make it public.
func (d *Deliverer) judge(a Attempt, c Claim, res answer) Attempt {
	switch s := res.status; {
	case s >= 200 && s < 300:
		a.State, a.Answered = DeliverySucceeded, true
		a.Recovered = c.Endpoint.FailingSince != nil
		return a
	case res.forbidden:
		a.State, a.Failed = DeliveryFailed, true
	case s == http.StatusGone:
		a.State, a.Failed, a.Disable = DeliveryFailed, true, DisabledGone
		return a
	case res.retryable, s == http.StatusRequestTimeout, s == http.StatusTooManyRequests, s >= 500:
		a.Failed = true
		wait := time.Duration(0)
		if s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable {
			wait = min(res.after, maxRetryAfter)
		}
		a = d.retry(a, c, wait)
	default:
		a.State, a.Failed = DeliveryFailed, true
		if a.Error == "" {
			a.Error = fmt.Sprintf("the endpoint answered %d", s)
		}
	}
	if c.Endpoint.FailingSince != nil && a.At.Sub(*c.Endpoint.FailingSince) >= FailingFor {
		a.Disable = DisabledFailing
	}
	return a
}

// retry makes the delivery pending again after its backoff (or the
// receiver's Retry-After), or fails it once RetryFor has passed.
func (d *Deliverer) retry(a Attempt, c Claim, wait time.Duration) Attempt {
	if a.At.Sub(c.Delivery.CreatedAt) >= RetryFor {
		a.State = DeliveryFailed
		return a
	}
	if wait <= 0 {
		wait = RetryDelay(c.Delivery.Attempts+1, d.Jitter())
	}
	a.State, a.NextAttemptAt = DeliveryPending, a.At.Add(wait)
	return a
}
