package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
	"github.com/parleyhq/parley/store/storetest"
)

// Demo credentials: alphanumeric, as twilio-go requires.
const (
	accountSID = "ACe2e00000000000000000000000000001"
	authToken  = "e2etoken000000000000000000000001"
	serviceSID = "MGe2e00000000000000000000000000001"
	business   = "+14155550199"
	publicURL  = "https://parley.example.com"
)

// env is one booted Parley with its fake carrier.
type env struct {
	t       testing.TB
	main    *Main
	carrier *twiliotest.Carrier
	base    string // where Parley really listens
	token   string // the bootstrap admin's token
	logs    *syncBuffer
}

type envOption func(*Config, *twiliotest.Config)

// boot starts the real program on :0 against dbURL (a fresh, migrated
// SQLite file when empty), with a fake carrier as Twilio's API and as the
// phones.
func boot(t testing.TB, dbURL string, opts ...envOption) *env {
	t.Helper()
	if dbURL == "" {
		dbURL = storetest.URL(t, "sqlite")
	}
	var carrier atomic.Pointer[twiliotest.Carrier]
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		carrier.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(fake.Close)

	cfg := Config{
		Addr: "127.0.0.1:0", DatabaseURL: dbURL, PublicURL: publicURL, BootstrapToken: "e2e-admin-token-00000000000000000",
		LogLevel: "debug", LogFormat: "json", TwilioAPIURL: fake.URL, TokenFile: filepath.Join(t.TempDir(), "token"),
		webhookPoll: 50 * time.Millisecond,
	}
	fc := twiliotest.Config{Accounts: map[string]string{accountSID: authToken}, PublicURL: publicURL,
		StatusCallbacks: true, StatusDelay: 10 * time.Millisecond}
	for _, o := range opts {
		o(&cfg, &fc)
	}
	if fc.HTTPClient == nil {
		fc.HTTPClient = carrierClient(t)
	}
	logs := &syncBuffer{}
	m := NewMain(cfg, logs)
	m.DispatcherPoll = 50 * time.Millisecond
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("boot parley: %v\n%s", err, logs.String())
	}
	fc.ParleyURL = "http://" + m.Addr()
	c := twiliotest.New(fc)
	carrier.Store(c)
	t.Cleanup(func() {
		c.Close()
		if err := m.Close(); err != nil {
			t.Errorf("close parley: %v", err)
		}
		if t.Failed() {
			t.Logf("parley logs:\n%s", logs.String())
		}
	})
	return &env{t: t, main: m, carrier: c, base: "http://" + m.Addr(), token: cfg.BootstrapToken, logs: logs}
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// response is an API answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value.
func (r response) JSON() map[string]any {
	var v map[string]any
	_ = json.Unmarshal(r.Body, &v)
	return v
}

// ErrorCode returns error.code of an error answer.
func (r response) ErrorCode() string {
	e, _ := r.JSON()["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// Data returns the data array of a list answer.
func (r response) Data() []map[string]any {
	var v struct {
		Data []map[string]any `json:"data"`
	}
	_ = json.Unmarshal(r.Body, &v)
	return v.Data
}

// call sends an API request with token (none when empty); body is JSON-encoded unless a string.
func (e *env) call(token, method, path string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := checkedClient(e.t).Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: raw}
}

// admin calls the API as the bootstrap admin.
func (e *env) admin(method, path string, body any) response {
	e.t.Helper()
	return e.call(e.token, method, path, body)
}

// must fails the test unless the answer has the wanted status.
func (e *env) must(want int, r response) map[string]any {
	e.t.Helper()
	if r.Status != want {
		e.t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r.JSON()
}

// setupChannel creates an inbox and a single-number channel; it returns the channel.
func (e *env) setupChannel(extra map[string]any) map[string]any {
	e.t.Helper()
	inbox := e.must(201, e.admin("POST", "/v1/inboxes", map[string]any{"name": "Support", "kind": "support"}))
	body := map[string]any{"carrier": "twilio", "phone_number": business, "inbox_id": inbox["id"],
		"account_sid": accountSID, "auth_token": authToken}
	for k, v := range extra {
		body[k] = v
	}
	return e.must(201, e.admin("POST", "/v1/channels", body))
}

// text makes a phone text the business number through the fake carrier.
func (e *env) text(from, body string) twiliotest.InboundResult {
	e.t.Helper()
	res, err := e.carrier.SendInbound(context.Background(), twiliotest.Inbound{AccountSid: accountSID, From: from, To: business, Body: body})
	if err != nil {
		e.t.Fatal(err)
	}
	if res.StatusCode != 200 {
		e.t.Fatalf("inbound webhook answered %d: %s", res.StatusCode, res.Body)
	}
	return res
}

// eventually polls cond until it holds or 10 s pass.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// received returns the bodies the fake phone received.
func (e *env) received(phone string) []string {
	var bodies []string
	for _, m := range e.carrier.MessagesTo(phone) {
		bodies = append(bodies, m.Body)
	}
	return bodies
}

// Short names for the fake carrier's config and signer in options.
type twiliotestConfig = twiliotest.Config

var twiliotestSign = twiliotest.Sign

// testClock is a settable clock safe for the server's goroutines.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// withClock boots Parley on clock instead of the wall clock.
func withClock(clock *testClock) envOption {
	return func(c *Config, _ *twiliotest.Config) { c.clock = clock }
}
