package events_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/events"
)

func TestGuardRefusesNonPublicAddresses(t *testing.T) {
	g := &events.Guard{}
	for _, tc := range []struct {
		ip      string
		allowed bool
	}{
		{"8.8.8.8", true},
		{"93.184.216.34", true},
		{"2606:4700:4700::1111", true},
		{"127.0.0.1", false},
		{"127.8.9.10", false},
		{"::1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"100.64.0.1", false},
		{"169.254.169.254", false},
		{"fe80::1", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"224.0.0.1", false},
		{"ff02::1", false},
		{"255.255.255.255", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"::ffff:8.8.8.8", true},
	} {
		t.Run(tc.ip, func(t *testing.T) {
			if got := g.Allowed(netip.MustParseAddr(tc.ip)); got != tc.allowed {
				t.Errorf("Allowed(%s) = %v, want %v", tc.ip, got, tc.allowed)
			}
		})
	}
	if !(&events.Guard{AllowPrivate: true}).Allowed(netip.MustParseAddr("127.0.0.1")) {
		t.Error("PARLEY_WEBHOOK_ALLOW_PRIVATE does not let loopback through")
	}
}

// resolver answers each host from a table it is told to change.
type resolver struct {
	mu      sync.Mutex
	answers map[string]string
}

func (r *resolver) answer(host, ip string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.answers == nil {
		r.answers = map[string]string{}
	}
	r.answers[host] = ip
}

func (r *resolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ip, ok := r.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return []net.IPAddr{{IP: net.ParseIP(ip)}}, nil
}

func TestGuardChecksURLsAtRegistration(t *testing.T) {
	r := &resolver{}
	r.answer("hooks.example.com", "93.184.216.34")
	r.answer("internal.example.com", "10.0.0.7")
	g := &events.Guard{Resolver: r}
	for _, tc := range []struct {
		url, refusal string // "" when accepted
	}{
		{"https://hooks.example.com/parley", ""},
		{"https://internal.example.com/parley", "resolves to 10.0.0.7, which is not a public address"},
		{"http://127.0.0.1:8080/", "points to 127.0.0.1, which is not a public address"},
		{"http://[::ffff:169.254.169.254]/latest", "which is not a public address"},
		{"https://nowhere.example.com/", "does not resolve"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			err := g.CheckURL(context.Background(), tc.url)
			if tc.refusal == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var pe *parley.Error
			if !parley.IsKind(err, parley.EINVALID) || !asError(err, &pe) || !strings.Contains(pe.Fields["url"], tc.refusal) {
				t.Fatalf("got %v, want a 422 on url saying %q", err, tc.refusal)
			}
		})
	}
}

func asError(err error, pe **parley.Error) bool {
	e, ok := err.(*parley.Error)
	*pe = e
	return ok
}

// TestGuardStopsDNSRebinding: the host answered a public address when
// the endpoint was registered and answers loopback when the delivery is
// made. The connection is refused, the receiver never hears of it, and
// the delivery fails saying why.
func TestGuardStopsDNSRebinding(t *testing.T) {
	var hits atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer receiver.Close()
	port := receiver.Listener.Addr().(*net.TCPAddr).Port
	hookURL := "http://rebind.example.com:" + strconv.Itoa(port) + "/hook"

	r := &resolver{}
	r.answer("rebind.example.com", "93.184.216.34")
	g := &events.Guard{Resolver: r}
	if err := g.CheckURL(context.Background(), hookURL); err != nil {
		t.Fatalf("registration: %v", err)
	}
	r.answer("rebind.example.com", "127.0.0.1")

	clock := &parley.FixedClock{T: t0}
	d := &events.Deliverer{Client: g.Client(time.Second, 1), Clock: clock, Renderer: fakeRenderer{}}
	a := d.Attempt(context.Background(), claimFor(hookURL, t0))
	if hits.Load() != 0 {
		t.Fatal("the receiver on loopback was reached")
	}
	if a.State != events.DeliveryFailed || !strings.Contains(a.Error, "not a public address") || !strings.Contains(a.Error, "127.0.0.1") {
		t.Fatalf("attempt %+v: want failed, refused for 127.0.0.1", a)
	}
	if !a.NextAttemptAt.IsZero() {
		t.Fatalf("a refused address is retried at %v", a.NextAttemptAt)
	}
	// The same client with the guard off reaches it: the refusal was the guard's.
	open := &events.Guard{Resolver: r, AllowPrivate: true}
	d = &events.Deliverer{Client: open.Client(time.Second, 1), Clock: clock, Renderer: fakeRenderer{}}
	if a := d.Attempt(context.Background(), claimFor(hookURL, t0)); a.State != events.DeliverySucceeded || hits.Load() != 1 {
		t.Fatalf("with private addresses allowed: %+v, %d hits", a, hits.Load())
	}
}
