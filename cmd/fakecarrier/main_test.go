package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
)

// TestRun boots the program as `make run` does and uses it as Parley and a
// person would: send a text through twilio-go, see it logged, get its status
// callbacks, and have a phone text Parley.
func TestRun(t *testing.T) {
	p := startParley(t)
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	args := []string{"fakecarrier", "-addr", "127.0.0.1:0", "-parley-url", p.URL, "-status-delay", "1ms",
		"-undeliverable", "+14155550404=30003"}
	go func() {
		done <- run(ctx, args, env(map[string]string{"PARLEY_PUBLIC_URL": "https://parley.example.com"}), out)
	}()
	addr := waitForLine(t, out, regexp.MustCompile(`fake carrier listening .*addr=(\S+)`))

	tw := demoClient(t, "http://"+addr)
	params := new(api.CreateMessageParams).SetTo("+14155550199").SetFrom("+14155550100").
		SetBody("Your table is ready").SetStatusCallback("https://parley.example.com/webhooks/twilio/status")
	if _, err := tw.Api.CreateMessage(params); err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	waitForLine(t, out, regexp.MustCompile(`text to \+14155550199 from \+14155550100: Your table is ready`))
	if _, err := tw.Api.CreateMessage(new(api.CreateMessageParams).SetTo("+14155550199")); err == nil {
		t.Fatal("CreateMessage without a sender or body succeeded")
	}
	if resp, err := http.Get("http://" + addr + "/fake/count"); err != nil {
		t.Fatal(err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.TrimSpace(string(body)) != `{"accepted":1}` {
			t.Errorf("GET /fake/count = %s, want 1 accepted (the refused create not counted)", body)
		}
	}

	resp, err := http.Post("http://"+addr+"/fake/inbound", "application/json",
		strings.NewReader(`{"from": "+14155550199", "to": "+14155550100", "body": "On my way"}`))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(answer), `"parley_status":200`) {
		t.Errorf("POST /fake/inbound = %d %s, want 200 with Parley's status", resp.StatusCode, answer)
	}

	got := p.waitFor(t, 3)
	want := map[string]bool{"sent": true, "delivered": true, "On my way": true}
	for _, h := range got {
		// Signed over PARLEY_PUBLIC_URL, taken from the environment.
		form, signedURL := h.form, "https://parley.example.com"+h.path
		params := make(map[string]string)
		for k, v := range form {
			params[k] = v[0]
		}
		if v := client.NewRequestValidator(demoAuthToken); !v.Validate(signedURL, params, h.signature) {
			t.Errorf("webhook to %s: signature does not validate over %s", h.path, signedURL)
		}
		key := form.Get("MessageStatus")
		if key == "" {
			key = form.Get("Body")
		}
		if !want[key] {
			t.Errorf("Parley received unexpected %v", form)
		}
		delete(want, key)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run = %v, want nil after shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context was cancelled")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{name: "account without token", args: []string{"-account", "ACabc"}},
		{name: "account with symbols", args: []string{"-account", "ACabc:tok-en"}},
		{name: "fail without code", args: []string{"-fail", "+14155550100"}},
		{name: "fail with a word", args: []string{"-fail", "+14155550100=unsubscribed"}},
		{name: "unknown log level", args: []string{"-log-level", "loud"}},
		{name: "stray argument", args: []string{"serve"}},
		{name: "owns without a number", args: []string{"-owns", "ACabc"}},
		{name: "owns a word", args: []string{"-owns", "ACabc:mine"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"fakecarrier", "-addr", "127.0.0.1:0"}, tt.args...)
			if err := run(context.Background(), args, env(nil), io.Discard); err == nil {
				t.Errorf("run(%v) = nil, want an error", tt.args)
			}
		})
	}
}

func TestParseFlagsDefaults(t *testing.T) {
	opts, err := parseFlags([]string{"fakecarrier"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if opts.addr != "127.0.0.1:8090" || opts.parleyURL != "http://127.0.0.1:8080" || opts.publicURL != opts.parleyURL ||
		opts.accounts[demoAccountSid] != demoAuthToken || len(opts.accounts) != 1 ||
		!opts.statusCallbacks || opts.statusDelay != 200*time.Millisecond {
		t.Errorf("defaults = %+v", opts)
	}
}

func TestParseFlagsOwns(t *testing.T) {
	opts, err := parseFlags([]string{"fakecarrier", "-owns", "ACabc:+14155550100", "-owns", "ACabc:MGabc"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := opts.config(zerolog.Nop()).Owns["ACabc"]; !slices.Equal(got, []string{"+14155550100", "MGabc"}) {
		t.Errorf("owns = %v", got)
	}
}

// demoClient is twilio-go with the demo account, pointed at base.
func demoClient(t *testing.T, base string) *twilio.RestClient {
	target, _ := url.Parse(base)
	c := client.Client{
		Credentials: client.NewCredentials(demoAccountSid, demoAuthToken),
		HTTPClient:  &http.Client{Timeout: 10 * time.Second, Transport: rewriteHost{target}},
	}
	c.SetAccountSid(demoAccountSid)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: &c})
}

// rewriteHost sends twilio-go's api.twilio.com requests to the fake.
type rewriteHost struct{ target *url.URL }

func (rt rewriteHost) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = rt.target.Scheme, rt.target.Host, rt.target.Host
	return http.DefaultTransport.RoundTrip(req)
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// stubParley records the webhooks posted to it.
type stubParley struct {
	*httptest.Server
	mu    sync.Mutex
	hooks []hook
}

type hook struct {
	path      string
	form      url.Values
	signature string
}

func startParley(t *testing.T) *stubParley {
	p := &stubParley{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		p.mu.Lock()
		p.hooks = append(p.hooks, hook{r.URL.RequestURI(), r.PostForm, r.Header.Get("X-Twilio-Signature")})
		p.mu.Unlock()
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *stubParley) waitFor(t *testing.T, n int) []hook {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		got := append([]hook(nil), p.hooks...)
		p.mu.Unlock()
		if len(got) >= n {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("Parley received fewer than %d webhooks", n)
	return nil
}

// syncBuffer is stdout shared between run and the test.
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

// waitForLine waits for the program to print a line matching re and returns
// its first group.
func waitForLine(t *testing.T, out *syncBuffer, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			if len(m) > 1 {
				return m[1]
			}
			return m[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no line matching %s in output:\n%s", re, out.String())
	return ""
}
