package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/web"
)

// minOutboxLease is the shortest outbox lease accepted.
const minOutboxLease = 15 * time.Second

// Config is every PARLEY_* setting of API.md. Each is read from the
// environment and may be overridden by the flag of the same name.
type Config struct {
	Addr            string
	DatabaseURL     string
	PublicURL       string
	BootstrapToken  string
	LogLevel        string
	LogFormat       string
	TwilioAPIURL    string
	TelnyxAPIURL    string
	VonageAPIURL    string
	BirdAPIURL      string
	PlivoAPIURL     string
	BandwidthAPIURL string
	// TokenFile is where a generated bootstrap token is written.
	TokenFile string
	// OutboxLease is how long a claimed outbox text stays with the process
	// that claimed it; after it, another process reconciles it with the
	// carrier (a Go duration, e.g. "1m").
	OutboxLease string
	// ShutdownDrain is how long /readyz answers 503 after a stop signal
	// while requests are still served (a Go duration, e.g. "5s").
	ShutdownDrain string
	// StatusChecksPerSecond bounds how many texts without a final status
	// this process looks up at the carrier a second; "0" turns it off.
	StatusChecksPerSecond string
	// WebhookAllowPrivate lets webhook endpoints point to loopback,
	// private and link-local addresses ("true"; default "false").
	WebhookAllowPrivate string
	// EventRetention is how long the event log keeps events (streams
	// resume and webhooks catch up within it); at least 24h.
	EventRetention string

	retention    time.Duration
	lease        time.Duration
	allowPrivate bool
	drain        time.Duration
	statusChecks int

	// clock replaces the wall clock in tests (snoozes, schedules).
	clock parley.Clock
	// heartbeat and writeTimeout replace the streams' heartbeat interval
	// and the server's write timeout in tests.
	heartbeat    time.Duration
	writeTimeout time.Duration
	// resolver replaces DNS for webhook URLs in tests.
	resolver events.Resolver
	// webhookPoll replaces how often due webhook deliveries are looked
	// for without a wake (1 s) in tests.
	webhookPoll time.Duration
	// loginLimit replaces the web inbox's sign-in rate limit in tests.
	loginLimit web.LoginLimit
	// exportLimit replaces the exports' row limit in tests.
	exportLimit int
}

// setting is one configuration variable.
type setting struct {
	env, flag, def, usage string
	dst                   func(*Config) *string
}

var settings = []setting{
	{"PARLEY_ADDR", "addr", ":8080", "listen address", func(c *Config) *string { return &c.Addr }},
	{"PARLEY_DATABASE_URL", "database-url", "sqlite://parley.db", "sqlite://PATH or postgres://…", func(c *Config) *string { return &c.DatabaseURL }},
	{"PARLEY_PUBLIC_URL", "public-url", "http://localhost:8080", "external base URL: webhook signatures and callback URLs use it", func(c *Config) *string { return &c.PublicURL }},
	{"PARLEY_BOOTSTRAP_TOKEN", "bootstrap-token", "", "the first admin's API token on an empty database, at least 32 characters (unset: generate one into --token-file)", func(c *Config) *string { return &c.BootstrapToken }},
	{"PARLEY_LOG_LEVEL", "log-level", "info", "debug, info, warn or error", func(c *Config) *string { return &c.LogLevel }},
	{"PARLEY_LOG_FORMAT", "log-format", "", "console or json (default: console on a terminal, json otherwise)", func(c *Config) *string { return &c.LogFormat }},
	{"PARLEY_TWILIO_API_URL", "twilio-api-url", "", "base URL replacing https://api.twilio.com (fake carrier, tests)", func(c *Config) *string { return &c.TwilioAPIURL }},
	{"PARLEY_TELNYX_API_URL", "telnyx-api-url", "", "base URL replacing https://api.telnyx.com (fake carrier, tests)", func(c *Config) *string { return &c.TelnyxAPIURL }},
	{"PARLEY_PLIVO_API_URL", "plivo-api-url", "", "base URL replacing https://api.plivo.com (fake carrier, tests)", func(c *Config) *string { return &c.PlivoAPIURL }},
	{"PARLEY_VONAGE_API_URL", "vonage-api-url", "", "base URL replacing https://rest.nexmo.com (fake carrier, tests)", func(c *Config) *string { return &c.VonageAPIURL }},
	{"PARLEY_BIRD_API_URL", "bird-api-url", "", "base URL replacing https://api.bird.com (fake carrier, tests)", func(c *Config) *string { return &c.BirdAPIURL }},
	{"PARLEY_BANDWIDTH_API_URL", "bandwidth-api-url", "", "base URL replacing https://messaging.bandwidth.com (fake carrier, tests)", func(c *Config) *string { return &c.BandwidthAPIURL }},
	{"PARLEY_TOKEN_FILE", "token-file", "parley-admin.token", "where a generated bootstrap token is written (mode 0600)", func(c *Config) *string { return &c.TokenFile }},
	{"PARLEY_OUTBOX_LEASE", "outbox-lease", "1m", "how long a claimed text belongs to the claiming process before another reconciles it with the carrier", func(c *Config) *string { return &c.OutboxLease }},
	{"PARLEY_SHUTDOWN_DRAIN", "shutdown-drain", "5s", "on SIGTERM or Ctrl-C, how long /readyz answers 503 while requests are still served, so load balancers stop sending (a second signal exits at once)", func(c *Config) *string { return &c.ShutdownDrain }},
	{"PARLEY_STATUS_CHECKS_PER_SECOND", "status-checks-per-second", "10", "texts without a final status an hour after sending that this process looks up at the carrier a second (0: none)", func(c *Config) *string { return &c.StatusChecksPerSecond }},
	{"PARLEY_WEBHOOK_ALLOW_PRIVATE", "webhook-allow-private", "false", "let webhook endpoints reach loopback, private and link-local addresses (true or false)", func(c *Config) *string { return &c.WebhookAllowPrivate }},
	{"PARLEY_EVENT_RETENTION", "event-retention", "72h", "how long the event log keeps events for streams resuming with Last-Event-ID (at least 24h)", func(c *Config) *string { return &c.EventRetention }},
}

// flags returns a flag set for a command, bound to cfg: every setting
// is taken from the environment (or its default), and those named in
// offered (all when nil) may be overridden by a flag.
func flags(name string, cfg *Config, getenv func(string) string, offered []string) *flag.FlagSet {
	fs := flag.NewFlagSet("parley "+name, flag.ContinueOnError)
	for _, s := range settings {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		*s.dst(cfg) = def
		if offered == nil || slices.Contains(offered, s.flag) {
			fs.StringVar(s.dst(cfg), s.flag, def, s.usage+" ($"+s.env+")")
		}
	}
	return fs
}

// finish fills derived defaults and validates.
func (c *Config) finish(stdout io.Writer) error {
	if c.LogFormat == "" {
		c.LogFormat = "json"
		if f, ok := stdout.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			c.LogFormat = "console"
		}
	}
	if c.LogFormat != "json" && c.LogFormat != "console" {
		return fmt.Errorf("PARLEY_LOG_FORMAT: want json or console, got %q", c.LogFormat)
	}
	if !isBaseURL(c.PublicURL) {
		return fmt.Errorf("PARLEY_PUBLIC_URL: want the URL carriers reach Parley at, http(s)://host[:port][/path] with no query, e.g. https://sms.example.com, got %q", c.PublicURL)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	for _, s := range settings {
		if v := *s.dst(c); strings.HasSuffix(s.flag, "-api-url") && v != "" && !isBaseURL(v) {
			return fmt.Errorf("%s: want http(s)://host[:port][/path], got %q", s.env, v)
		}
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || !validPort(port) {
		return fmt.Errorf("PARLEY_ADDR: want a listen address HOST:PORT or :PORT, e.g. :8080, got %q", c.Addr)
	}
	if c.OutboxLease == "" {
		c.OutboxLease = "1m"
	}
	lease, err := time.ParseDuration(c.OutboxLease)
	// A lease shorter than a send (the carrier call's timeout and a
	// margin) would be renewed before nearly every send.
	if err != nil || lease < minOutboxLease {
		return fmt.Errorf("PARLEY_OUTBOX_LEASE: want a duration of at least %s (a send's timeout and a margin), e.g. 1m, got %q", minOutboxLease, c.OutboxLease)
	}
	c.lease = lease
	if c.ShutdownDrain == "" {
		c.ShutdownDrain = "0s"
	}
	if c.drain, err = time.ParseDuration(c.ShutdownDrain); err != nil || c.drain < 0 {
		return fmt.Errorf("PARLEY_SHUTDOWN_DRAIN: want a duration such as 5s or 0s, got %q", c.ShutdownDrain)
	}
	if c.EventRetention == "" {
		c.EventRetention = "72h"
	}
	if c.retention, err = time.ParseDuration(c.EventRetention); err != nil || c.retention < minEventRetention {
		return fmt.Errorf("PARLEY_EVENT_RETENTION: want a duration of at least 24h, e.g. 72h, got %q", c.EventRetention)
	}
	if err := c.finishStatusChecks(); err != nil {
		return err
	}
	return c.finishWebhooks()
}

// isBaseURL reports whether raw is an absolute http(s) URL that paths can
// be put after: a host, and no user, query or fragment. Webhook
// signatures are checked against PARLEY_PUBLIC_URL + path, so anything
// else there would refuse every webhook.
func isBaseURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Hostname() != "" &&
		u.User == nil && u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" && !strings.ContainsAny(raw, " \t\n")
}

// validPort reports whether port is a TCP port, by number (0 picks one)
// or service name, as net.Listen takes it.
func validPort(port string) bool {
	_, err := net.LookupPort("tcp", port)
	return err == nil && port != ""
}

func (c *Config) finishWebhooks() error {
	if c.WebhookAllowPrivate == "" {
		c.WebhookAllowPrivate = "false"
	}
	allow, err := strconv.ParseBool(c.WebhookAllowPrivate)
	if err != nil {
		return fmt.Errorf("PARLEY_WEBHOOK_ALLOW_PRIVATE: want true or false, got %q", c.WebhookAllowPrivate)
	}
	c.allowPrivate = allow
	return nil
}

// minEventRetention is API.md's promise: a stream resumes within a day.
const minEventRetention = 24 * time.Hour

// maxStatusChecksPerSecond keeps lookups well inside Twilio's API limits.
const maxStatusChecksPerSecond = 100

func (c *Config) finishStatusChecks() error {
	if c.StatusChecksPerSecond == "" {
		c.StatusChecksPerSecond = "10"
	}
	n, err := strconv.Atoi(c.StatusChecksPerSecond)
	if err != nil || n < 0 || n > maxStatusChecksPerSecond {
		return fmt.Errorf("PARLEY_STATUS_CHECKS_PER_SECOND: want a whole number from 0 to %d, got %q", maxStatusChecksPerSecond, c.StatusChecksPerSecond)
	}
	c.statusChecks = n
	return nil
}

// setCarrierAPIs points every carrier's API at url (a fake carrier).
func (c *Config) setCarrierAPIs(url string) {
	c.TwilioAPIURL, c.TelnyxAPIURL, c.PlivoAPIURL, c.BandwidthAPIURL, c.VonageAPIURL, c.BirdAPIURL = url, url, url, url, url, url
}
