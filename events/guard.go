package events

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/parleyhq/parley"
)

// Resolver answers a host's addresses (net.DefaultResolver; tests answer
// what they like, and change their answer to act out DNS rebinding).
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// ErrForbiddenAddress is the refusal of an address inside the network
// Parley runs in (loopback, private, link-local…): a webhook URL must
// not become a way to reach it (SSRF).
var ErrForbiddenAddress = errors.New("not a public address")

// Guard keeps webhook deliveries away from non-public addresses. It is
// hand-written: SSRF libraries (code.dny.dev/ssrf and the like) are the
// same net.Dialer Control check, none is in the package lists of this
// build, and the resolver had to be injectable so a test can act out DNS
// rebinding. The URL
// is checked when an endpoint is saved, for a clear error then, and every
// connection is checked again when it is made (the dialer's Control sees
// the very address connected to), so a name that resolved to a public
// address at registration and to a private one later (DNS rebinding)
// still gets nowhere.
type Guard struct {
	// AllowPrivate turns the guard off (PARLEY_WEBHOOK_ALLOW_PRIVATE):
	// receivers on the same network, tests.
	AllowPrivate bool
	// Resolver resolves hosts; nil is net.DefaultResolver.
	Resolver Resolver
}

func (g *Guard) resolver() Resolver {
	if g.Resolver == nil {
		return net.DefaultResolver
	}
	return g.Resolver
}

// blocked are the prefixes no webhook may reach. IPv4-mapped IPv6
// addresses are unmapped before the check.
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",      // "this network", the unspecified address
		"10.0.0.0/8",     // RFC 1918
		"100.64.0.0/10",  // carrier-grade NAT
		"127.0.0.0/8",    // loopback
		"169.254.0.0/16", // link-local, cloud metadata services
		"172.16.0.0/12",  // RFC 1918
		"192.0.0.0/24",   // IETF protocol assignments
		"192.168.0.0/16", // RFC 1918
		"198.18.0.0/15",  // benchmarking
		"224.0.0.0/4",    // multicast
		"240.0.0.0/4",    // reserved, broadcast
		"::/128",         // unspecified
		"::1/128",        // loopback
		"fc00::/7",       // unique local
		"fe80::/10",      // link-local
		"ff00::/8",       // multicast
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// Allowed reports whether a webhook may connect to ip.
func (g *Guard) Allowed(ip netip.Addr) bool {
	if g.AllowPrivate {
		return true
	}
	ip = ip.Unmap()
	for _, p := range blocked {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// CheckURL resolves the URL's host and refuses it (EINVALID naming the
// url field) when any of its addresses is not public, or when it does not
// resolve at all.
func (g *Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return parley.Invalid(map[string]string{"url": "must be a valid URL"})
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if !g.Allowed(ip) {
			return invalidURL("points to %s, which is not a public address (loopback, private and link-local addresses are refused unless PARLEY_WEBHOOK_ALLOW_PRIVATE=true)", ip)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := g.resolver().LookupIPAddr(ctx, host)
	if err != nil || len(addrs) == 0 {
		return invalidURL("the host %s does not resolve", host)
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok || !g.Allowed(ip) {
			return invalidURL("the host %s resolves to %s, which is not a public address (loopback, private and link-local addresses are refused unless PARLEY_WEBHOOK_ALLOW_PRIVATE=true)", host, a.IP)
		}
	}
	return nil
}

func invalidURL(format string, args ...any) error {
	e := parley.Invalid(map[string]string{"url": fmt.Sprintf(format, args...)})
	e.Code = "webhook_url_forbidden"
	return e
}

// control is the dialer's last word on each connection: the address is
// the one about to be connected to, after every resolution.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
	}
	if !g.Allowed(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, ap.Addr())
	}
	return nil
}

// dial resolves with the guard's resolver and connects to the first
// address that answers; control refuses the non-public ones.
func (g *Guard) dial(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip}
	} else {
		addrs, err := g.resolver().LookupIPAddr(ctx, host)
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	d := net.Dialer{Timeout: 5 * time.Second, Control: g.control}
	var errs []error
	for _, ip := range ips {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("%s has no addresses", host)
	}
	return nil, errors.Join(errs...)
}

// Client is an HTTP client for deliveries: every connection guarded, no
// proxy (it would connect for us, unchecked), no redirects followed (a
// 3xx is the answer, and a failure), timeout bounding each attempt.
func (g *Guard) Client(timeout time.Duration, conns int) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           g.dial,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          conns,
			MaxIdleConnsPerHost:   conns,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
