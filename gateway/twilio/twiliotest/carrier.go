// Package twiliotest is a Twilio-compatible fake carrier for Parley's
// end-to-end tests, `make run` demos and benchmarks.
//
// It plays both sides of Twilio. Parley sends through it as through
// api.twilio.com: the Messages resource of the 2010-04-01 REST API, with
// Basic auth, Twilio's JSON shapes and error codes, so twilio-go itself is
// the client. And it plays the phones: it posts inbound texts and status
// callbacks to Parley, form-encoded and signed with X-Twilio-Signature
// exactly as Twilio does. Knobs in Config make the carrier slow, rate
// limited, or refuse and fail chosen numbers, so tests can reach the paths
// real carriers take rarely.
package twiliotest

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Config tells the fake carrier which accounts exist, where Parley is and
// how to misbehave. The zero value of each knob means a well-behaved carrier.
type Config struct {
	// Accounts maps AccountSid to AuthToken: accepted by Basic auth on the
	// REST API and used to sign the webhooks of that account. twilio-go
	// refuses credentials that are not alphanumeric. AddAccount adds more.
	Accounts map[string]string
	// Owns maps an AccountSid to the phone numbers and Messaging Service
	// SIDs it owns, which Parley checks when a channel is connected. A
	// number or service no account lists belongs to every account that
	// lists none, so a demo needs no list.
	Owns map[string][]string
	// ParleyURL is where Parley really listens, e.g. "http://127.0.0.1:8080";
	// webhooks are sent there.
	ParleyURL string
	// PublicURL is Parley's PARLEY_PUBLIC_URL, the address Parley checks
	// signatures against: inbound webhooks are signed over PublicURL + path.
	// Defaults to ParleyURL.
	PublicURL string
	// Latency is added to every REST API answer.
	Latency time.Duration
	// RateLimitEvery, when > 0, makes every Nth Messages create answer HTTP
	// 429 with Twilio code 20429.
	RateLimitEvery int
	// FailNumbers maps a To number to the Twilio error code a create to it
	// answers with HTTP 400, e.g. 21610 (unsubscribed) or 21211 (invalid).
	FailNumbers map[string]int
	// UndeliverableNumbers maps a To number to the error code its
	// "undelivered" status callback carries, e.g. 30003 (unreachable).
	UndeliverableNumbers map[string]int
	// StatusCallbacks, when true, makes every accepted create that named a
	// StatusCallback post "sent" and then "delivered" (or "undelivered" with
	// an ErrorCode) to it.
	StatusCallbacks bool
	// DropStatusCallbacks, with StatusCallbacks, moves each text to "sent"
	// and then its final status as usual but posts none of it: Parley
	// learns the status only by fetching the message, as when Twilio
	// cannot reach it.
	DropStatusCallbacks bool
	// StatusDelay is waited before each status callback.
	StatusDelay time.Duration
	// HTTPClient posts webhooks to Parley; the default has a 10 s timeout
	// and keeps enough idle connections for heavy concurrency.
	HTTPClient *http.Client
	// Logger logs each text the phones receive; the zero value logs nothing.
	Logger zerolog.Logger
}

// Message is a text accepted by the REST API: what a phone received.
type Message struct {
	Sid                 string    `json:"sid"`
	AccountSid          string    `json:"account_sid"`
	From                string    `json:"from,omitempty"`
	MessagingServiceSid string    `json:"messaging_service_sid,omitempty"`
	To                  string    `json:"to"`
	Body                string    `json:"body"`
	MediaURLs           []string  `json:"media_urls,omitempty"`
	Status              string    `json:"status"`
	ErrorCode           int       `json:"error_code,omitempty"`
	StatusCallback      string    `json:"status_callback,omitempty"`
	DateCreated         time.Time `json:"date_created"`
	NumSegments         int       `json:"num_segments"`
}

// Carrier is the fake carrier. It is an http.Handler serving the Twilio
// REST API and the /fake/ control API; it is safe for concurrent use.
type Carrier struct {
	// From Config, fixed after New.
	accounts    *accountBook
	parleyURL   string
	publicURL   string
	latency     time.Duration
	limitEvery  int64
	fail        map[string]int
	undeliver   map[string]int
	callbacks   bool
	dropPosts   bool
	statusDelay time.Duration
	client      *http.Client
	ownsClient  bool // the client is New's, so Close may close its connections
	log         zerolog.Logger
	handler     http.Handler

	store   *store
	creates atomic.Int64 // Messages creates seen, for RateLimitEvery

	// Status callbacks run outside any request, so they live by the
	// carrier's context; Close cancels it and waits for them.
	stopCtx      context.Context
	stop         context.CancelFunc
	mu           sync.Mutex // guards closed, so no callback starts after Close
	closed       bool
	pendingPosts sync.WaitGroup
}

// New returns a carrier configured by cfg. Call Close when done with it to
// stop the status callbacks still pending.
func New(cfg Config) *Carrier {
	c := &Carrier{
		accounts:    newAccountBook(cfg.Accounts, cfg.Owns),
		parleyURL:   strings.TrimRight(cfg.ParleyURL, "/"),
		publicURL:   strings.TrimRight(cfg.PublicURL, "/"),
		latency:     cfg.Latency,
		limitEvery:  int64(cfg.RateLimitEvery),
		fail:        maps.Clone(cfg.FailNumbers),
		undeliver:   maps.Clone(cfg.UndeliverableNumbers),
		callbacks:   cfg.StatusCallbacks,
		dropPosts:   cfg.DropStatusCallbacks,
		statusDelay: cfg.StatusDelay,
		client:      cfg.HTTPClient,
		log:         cfg.Logger,
		store:       newStore(),
	}
	if c.publicURL == "" {
		c.publicURL = c.parleyURL
	}
	if c.client == nil {
		c.client, c.ownsClient = defaultClient(), true
	}
	c.stopCtx, c.stop = context.WithCancel(context.Background())
	c.handler = c.routes()
	return c
}

// defaultClient keeps many idle connections to Parley: with net/http's
// default of two, thousands of concurrent callbacks would open and close a
// connection each and run the machine out of ephemeral ports.
func defaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 512
	t.MaxConnsPerHost = 512
	return &http.Client{Timeout: 10 * time.Second, Transport: t}
}

func (c *Carrier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.handler.ServeHTTP(w, r)
}

// Messages returns every text accepted by the REST API, oldest first.
func (c *Carrier) Messages() []Message { return c.store.all() }

// Count is how many texts were accepted: len(Messages()) without copying
// them, for loops that wait for a campaign.
func (c *Carrier) Count() int { return c.store.count() }

// MessagesTo returns the texts accepted for phone, oldest first.
func (c *Carrier) MessagesTo(phone string) []Message { return c.store.to(phone) }

// Reset forgets every text and restarts the RateLimitEvery count. Status
// callbacks still pending for forgotten texts are dropped, so they cannot
// leak into the next test.
func (c *Carrier) Reset() {
	c.store.reset()
	c.creates.Store(0)
}

// Close stops the pending status callbacks and waits for them to return.
func (c *Carrier) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.stop()
	c.pendingPosts.Wait()
	if c.ownsClient {
		c.client.CloseIdleConnections()
	}
}

// sleep waits d and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
