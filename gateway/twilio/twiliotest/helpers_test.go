package twiliotest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"

	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
)

// Test accounts. twilio-go refuses credentials that are not alphanumeric.
const (
	accountA = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	tokenA   = "tokenaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	accountB = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	tokenB   = "tokenbbbbbbbbbbbbbbbbbbbbbbbbbbb"

	// publicURL is the address Parley believes it has; nothing listens there.
	publicURL = "https://parley.example.com"
)

// startCarrier serves a fake carrier with cfg (accounts A and B unless cfg
// names some) and closes both when the test ends.
func startCarrier(t *testing.T, cfg twiliotest.Config) (*twiliotest.Carrier, *httptest.Server) {
	t.Helper()
	if cfg.Accounts == nil {
		cfg.Accounts = map[string]string{accountA: tokenA, accountB: tokenB}
	}
	c := twiliotest.New(cfg)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	t.Cleanup(c.Close) // runs first: pending callbacks stop before the servers go
	return c, srv
}

// rewriteHost sends every request to the fake instead of api.twilio.com,
// after twilio-go has built its URL (CARRIERS.md §1).
type rewriteHost struct {
	target *url.URL
	next   http.RoundTripper
}

func (rt rewriteHost) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = rt.target.Scheme, rt.target.Host, rt.target.Host
	return rt.next.RoundTrip(req)
}

// twilioClient is twilio-go's REST client pointed at the fake.
func twilioClient(t testing.TB, baseURL, sid, token string) *twilio.RestClient {
	t.Helper()
	target, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	t.Cleanup(transport.CloseIdleConnections)
	c := client.Client{
		Credentials: client.NewCredentials(sid, token),
		HTTPClient:  &http.Client{Timeout: 10 * time.Second, Transport: rewriteHost{target, transport}},
	}
	c.SetAccountSid(sid)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: &c})
}

// webhook is one request the stub Parley received.
type webhook struct {
	Path       string // path and query, as received
	Form       url.Values
	Signature  string
	ReceivedAt time.Time
}

// parley is a stub of Parley's webhook endpoints that records what arrives.
type parley struct {
	*httptest.Server
	status int    // answered to every webhook
	answer string // body answered to every webhook

	mu       sync.Mutex
	received []webhook
	arrived  chan struct{} // signalled (without blocking) on each arrival
}

func startParley(t *testing.T, status int, answer string) *parley {
	t.Helper()
	p := &parley{status: status, answer: answer, arrived: make(chan struct{}, 1)}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

func (p *parley) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(raw))
	p.mu.Lock()
	p.received = append(p.received, webhook{
		Path: r.URL.RequestURI(), Form: form, Signature: r.Header.Get("X-Twilio-Signature"), ReceivedAt: time.Now(),
	})
	p.mu.Unlock()
	select {
	case p.arrived <- struct{}{}:
	default:
	}
	w.WriteHeader(p.status)
	io.WriteString(w, p.answer)
}

func (p *parley) webhooks() []webhook {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]webhook(nil), p.received...)
}

// waitFor waits until n webhooks have arrived, or fails the test.
func (p *parley) waitFor(t *testing.T, n int) []webhook {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if got := p.webhooks(); len(got) >= n {
			return got
		}
		select {
		case <-p.arrived:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("got %d webhooks, want %d", len(p.webhooks()), n)
		}
	}
}

// validSignature checks a webhook as Parley must: with twilio-go's
// validator, over the URL Parley believes Twilio called.
func validSignature(token, fullURL string, h webhook) bool {
	params := make(map[string]string, len(h.Form))
	for k, v := range h.Form {
		params[k] = v[0]
	}
	v := client.NewRequestValidator(token)
	return v.Validate(fullURL, params, h.Signature)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
