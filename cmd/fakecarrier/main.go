// Command fakecarrier runs a fake carrier beside Parley for demos (`make
// run`), end-to-end tests and benchmarks: Twilio's API, and every other
// carrier's on the same address. Point Parley's PARLEY_TWILIO_API_URL,
// PARLEY_TELNYX_API_URL (/v2/…), PARLEY_PLIVO_API_URL (/v1/Account/…),
// PARLEY_BANDWIDTH_API_URL (/api/v2/users/…), PARLEY_VONAGE_API_URL
// (/sms/json, /account/numbers) and PARLEY_BIRD_API_URL (/workspaces/…)
// at it to send, and it plays the phones: it logs each text they receive,
// posts signed status callbacks, and texts Parley when asked through POST
// /fake/inbound (Twilio), POST /fake/telnyx/inbound (Telnyx, whose public
// key GET /fake/telnyx/public-key answers), POST /fake/plivo/inbound,
// POST /fake/bandwidth/inbound (once POST /fake/bandwidth/callbacks set
// the application's callback URLs), POST /fake/vonage/inbound or POST
// /fake/bird/inbound.
//
//	fakecarrier -parley-url http://127.0.0.1:8080
//	curl -d '{"from":"+15555550100","to":"+15555550111","body":"Hi"}' localhost:8090/fake/inbound
//	curl 'localhost:8090/fake/messages?to=%2B15555550100'
//	curl -X DELETE localhost:8090/fake/messages
//	curl localhost:8090/fake/count   # {"accepted": N}: cheap at a million texts
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/parleyhq/parley/gateway/bandwidth/bandwidthtest"
	"github.com/parleyhq/parley/gateway/bird/birdtest"
	"github.com/parleyhq/parley/gateway/plivo/plivotest"
	"github.com/parleyhq/parley/gateway/telnyx/telnyxtest"
	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
	"github.com/parleyhq/parley/gateway/vonage/vonagetest"
)

// The demo account works out of the box with `make run`. twilio-go refuses
// credentials that are not alphanumeric.
const (
	demoAccountSid = "ACdemo00000000000000000000000000"
	demoAuthToken  = "demotoken0000000000000000000000"
)

// The demo Telnyx account.
const (
	demoTelnyxKey     = "KEYdemo0000000000000000000000000"
	demoTelnyxProfile = "40017e00-de00-4000-8000-000000000001"
	demoTelnyxNumber  = "+14155550198"
)

// The demo Bandwidth account and application (the fake's whole
// configuration: a demo needs no more).
const (
	demoBandwidthAccount          = "9900001"
	demoBandwidthApp              = "93de2206-9669-4e07-948d-329f4b722ee2"
	demoBandwidthUser             = "parley-api"
	demoBandwidthPassword         = "demo-bandwidth-password"
	demoBandwidthCallbackPassword = "demo-callback-password"
	demoBandwidthNumber           = "+14155550196"
)

// The demo Vonage account (md5hash signatures, Vonage's default).
const (
	demoVonageKey             = "demo1234"
	demoVonageSecret          = "demo-vonage-secret"
	demoVonageSignatureSecret = "demo-vonage-signature-secret"
	demoVonageNumber          = "+14155550195"
)

// The demo Bird workspace and its SMS channel.
const (
	demoBirdAccessKey  = "demo-bird-access-key"
	demoBirdWorkspace  = "b1d00000-0000-4000-8000-000000000001"
	demoBirdChannel    = "b1d00000-0000-4000-8000-000000000002"
	demoBirdSigningKey = "demo-bird-signing-key"
	demoBirdNumber     = "+14155550194"
)

// The demo Plivo account.
const (
	demoPlivoAuthID = "MADEMO00000000000001"
	demoPlivoToken  = "demo-plivo-token"
	demoPlivoNumber = "+14155550197"
)

func main() {
	// The fake keeps every text it accepted, a million in a benchmark, on
	// the machine it shares with Parley. Collected at Go's default pace,
	// its heap cost it a fifth of its CPU and slowed its answers to
	// Parley's sends; memory is what it can spare. GOGC, when set, decides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fakecarrier:", err)
		os.Exit(1)
	}
}

// run serves the fake carrier until ctx is done. getenv supplies
// PARLEY_PUBLIC_URL as the default of -public-url, so the fake signs over
// the same URL Parley checks when both run in one environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	opts, err := parseFlags(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil // -help printed the usage, as asked
	}
	if err != nil {
		return err
	}
	log := newLogger(stdout, opts.logLevel)
	carrier := twiliotest.New(opts.config(log))
	defer carrier.Close()
	tx := telnyxtest.New(opts.telnyxConfig())
	defer tx.Close()
	bw := bandwidthtest.New(bandwidthtest.Config{AccountID: demoBandwidthAccount, ApplicationID: demoBandwidthApp,
		APIUser: demoBandwidthUser, APIPassword: demoBandwidthPassword, Numbers: []string{demoBandwidthNumber},
		CallbackUser: "parley", CallbackPassword: demoBandwidthCallbackPassword,
		ParleyURL: opts.parleyURL, PublicURL: opts.publicURL, StatusDelay: opts.statusDelay})
	defer bw.Close()
	pl := plivotest.New(plivotest.Config{AuthID: opts.plivoAuthID, AuthToken: opts.plivoToken, Numbers: opts.plivoNumbers,
		ParleyURL: opts.parleyURL, PublicURL: opts.publicURL, StatusDelay: opts.statusDelay})
	defer pl.Close()
	vg := vonagetest.New(vonagetest.Config{APIKey: demoVonageKey, APISecret: demoVonageSecret, SignatureSecret: demoVonageSignatureSecret,
		Numbers: []string{demoVonageNumber}, ParleyURL: opts.parleyURL, PublicURL: opts.publicURL, StatusDelay: opts.statusDelay})
	defer vg.Close()
	bd := birdtest.New(birdtest.Config{AccessKey: demoBirdAccessKey, Workspace: demoBirdWorkspace, Channel: demoBirdChannel,
		Number: demoBirdNumber, SigningKey: demoBirdSigningKey, ParleyURL: opts.parleyURL, PublicURL: opts.publicURL, StatusDelay: opts.statusDelay})
	defer bd.Close()

	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: withCarrier(tx, "/v2/", "/fake/telnyx", withCarrier(pl, "/v1/Account/", "/fake/plivo",
		withCarrier(bw, "/api/v2/users/", "/fake/bandwidth", withCarrier(vg, "/sms/,/account/", "/fake/vonage",
			withCarrier(bd, "/workspaces/", "/fake/bird", withCount(carrier)))))),
		ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info().Str("addr", ln.Addr().String()).Str("parley_url", opts.parleyURL).
		Str("public_url", opts.publicURL).Strs("accounts", opts.accountSids()).
		Msg("fake carrier listening")

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info().Msg("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// options are the command line, read and checked.
type options struct {
	addr            string
	parleyURL       string
	publicURL       string
	accounts        accountsFlag
	owns            ownsFlag
	latency         time.Duration
	rateLimitEvery  int
	fail            codesFlag
	undeliverable   codesFlag
	statusCallbacks bool
	dropCallbacks   bool
	statusDelay     time.Duration
	logLevel        zerolog.Level
	telnyxKey       string
	telnyxProfile   string
	telnyxNumbers   []string
	plivoAuthID     string
	plivoToken      string
	plivoNumbers    []string
}

func parseFlags(args []string, getenv func(string) string, out io.Writer) (options, error) {
	opts := options{accounts: accountsFlag{}, owns: ownsFlag{}, fail: codesFlag{}, undeliverable: codesFlag{}}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&opts.addr, "addr", "127.0.0.1:8090", "listen address")
	fs.StringVar(&opts.parleyURL, "parley-url", "http://127.0.0.1:8080", "where Parley listens: webhooks are sent here")
	fs.StringVar(&opts.publicURL, "public-url", getenv("PARLEY_PUBLIC_URL"),
		"Parley's PARLEY_PUBLIC_URL, which webhooks are signed over (default: $PARLEY_PUBLIC_URL, else -parley-url)")
	fs.Var(opts.accounts, "account", "`SID:TOKEN` of an account to accept and sign with; repeatable (default the demo account "+demoAccountSid+":"+demoAuthToken+")")
	fs.Var(opts.owns, "owns", "`SID:NUMBER` or SID:MG…: the account owns that number or Messaging Service, and no other account does; repeatable (an account that owns none owns every number nobody owns)")
	fs.DurationVar(&opts.latency, "latency", 0, "delay added to every REST API answer")
	fs.IntVar(&opts.rateLimitEvery, "rate-limit-every", 0, "answer every Nth send with HTTP 429 (Twilio 20429); 0 never")
	fs.Var(opts.fail, "fail", "`NUMBER=CODE`: refuse sends to NUMBER with Twilio error CODE, e.g. +15555550100=21610; repeatable")
	fs.Var(opts.undeliverable, "undeliverable", "`NUMBER=CODE`: report texts to NUMBER undelivered with CODE, e.g. +15555550101=30003; repeatable")
	fs.BoolVar(&opts.statusCallbacks, "status-callbacks", true, "post sent and delivered status callbacks")
	fs.BoolVar(&opts.dropCallbacks, "drop-status-callbacks", false,
		"move texts to sent and delivered but post no callback: Parley learns statuses only by fetching the message")
	fs.DurationVar(&opts.statusDelay, "status-delay", 200*time.Millisecond, "delay before each status callback")
	fs.StringVar(&opts.telnyxKey, "telnyx-api-key", demoTelnyxKey, "the API key the fake Telnyx accepts")
	fs.StringVar(&opts.telnyxProfile, "telnyx-profile", demoTelnyxProfile, "the fake Telnyx account's messaging profile id")
	telnyxNumbers := fs.String("telnyx-numbers", demoTelnyxNumber, "comma-separated E.164 numbers on the fake Telnyx profile")
	fs.StringVar(&opts.plivoAuthID, "plivo-auth-id", demoPlivoAuthID, "the fake Plivo account's Auth ID")
	fs.StringVar(&opts.plivoToken, "plivo-auth-token", demoPlivoToken, "the fake Plivo account's auth token")
	plivoNumbers := fs.String("plivo-numbers", demoPlivoNumber, "comma-separated E.164 numbers on the fake Plivo account")
	level := fs.String("log-level", "info", "debug, info, warn or error (info logs every text; use warn for benchmarks)")
	if err := fs.Parse(args[1:]); err != nil {
		return opts, err
	}
	if fs.NArg() > 0 {
		return opts, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var err error
	if opts.logLevel, err = zerolog.ParseLevel(*level); err != nil {
		return opts, fmt.Errorf("-log-level: %w", err)
	}
	opts.telnyxNumbers = strings.Split(*telnyxNumbers, ",")
	opts.plivoNumbers = strings.Split(*plivoNumbers, ",")
	if len(opts.accounts) == 0 {
		opts.accounts[demoAccountSid] = demoAuthToken
	}
	opts.parleyURL = strings.TrimRight(opts.parleyURL, "/")
	if opts.publicURL == "" {
		opts.publicURL = opts.parleyURL
	}
	return opts, nil
}

func (o options) config(log zerolog.Logger) twiliotest.Config {
	return twiliotest.Config{
		Accounts:             o.accounts,
		Owns:                 o.owns,
		ParleyURL:            o.parleyURL,
		PublicURL:            o.publicURL,
		Latency:              o.latency,
		RateLimitEvery:       o.rateLimitEvery,
		FailNumbers:          o.fail,
		UndeliverableNumbers: o.undeliverable,
		StatusCallbacks:      o.statusCallbacks,
		DropStatusCallbacks:  o.dropCallbacks,
		StatusDelay:          o.statusDelay,
		Logger:               log,
	}
}

// telnyxConfig is the fake Telnyx account. Its signing key is derived
// from the profile id, so a channel connected once keeps verifying after
// a restart (the demo's stays connected across make run).
func (o options) telnyxConfig() telnyxtest.Config {
	seed := sha256.Sum256([]byte("fakecarrier telnyx " + o.telnyxProfile))
	return telnyxtest.Config{APIKey: o.telnyxKey, Profile: o.telnyxProfile, Numbers: o.telnyxNumbers,
		Key: ed25519.NewKeyFromSeed(seed[:]), ParleyURL: o.parleyURL, PublicURL: o.publicURL, StatusDelay: o.statusDelay}
}

// fake is a fake carrier's API and its own controls.
type fake interface {
	http.Handler
	ServeControl(prefix string) http.Handler
}

// withCarrier serves a carrier's API (paths under api, or under any of
// its comma-separated prefixes) and its controls
// (under control) from f, and the rest from next.
func withCarrier(f fake, api, control string, next http.Handler) http.Handler {
	controls := f.ServeControl(control)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case slices.ContainsFunc(strings.Split(api, ","), func(p string) bool { return strings.HasPrefix(r.URL.Path, p) }):
			f.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, control+"/"):
			controls.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// accountSids lists the accounts for the start-up log; tokens stay out of logs.
func (o options) accountSids() []string {
	sids := make([]string, 0, len(o.accounts))
	for sid := range o.accounts {
		sids = append(sids, sid)
	}
	sort.Strings(sids)
	return sids
}

// newLogger writes human-readable lines, coloured only on a terminal.
func newLogger(out io.Writer, level zerolog.Level) zerolog.Logger {
	w := zerolog.ConsoleWriter{Out: out, TimeFormat: "15:04:05", NoColor: !isTerminal(out)}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// alphanumeric is what twilio-go accepts as a username or password.
var alphanumeric = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// accountsFlag collects -account SID:TOKEN.
type accountsFlag map[string]string

func (a accountsFlag) String() string { return fmt.Sprintf("%d accounts", len(a)) }

func (a accountsFlag) Set(v string) error {
	sid, token, ok := strings.Cut(v, ":")
	if !ok || !strings.HasPrefix(sid, "AC") || !alphanumeric.MatchString(sid) || !alphanumeric.MatchString(token) {
		return errors.New("want SID:TOKEN, an AC… account SID and a token, both letters and digits only (twilio-go refuses others)")
	}
	a[sid] = token
	return nil
}

// ownsFlag collects -owns SID:NUMBER and SID:MG… pairs.
type ownsFlag map[string][]string

func (o ownsFlag) String() string { return fmt.Sprintf("%d accounts", len(o)) }

func (o ownsFlag) Set(v string) error {
	sid, owned, ok := strings.Cut(v, ":")
	if !ok || !strings.HasPrefix(sid, "AC") || !(strings.HasPrefix(owned, "+") || strings.HasPrefix(owned, "MG")) {
		return errors.New("want SID:NUMBER or SID:MG…, an AC… account SID and an E.164 number or a Messaging Service SID")
	}
	o[sid] = append(o[sid], owned)
	return nil
}

// codesFlag collects NUMBER=CODE pairs.
type codesFlag map[string]int

func (c codesFlag) String() string { return fmt.Sprintf("%d numbers", len(c)) }

func (c codesFlag) Set(v string) error {
	number, code, ok := strings.Cut(v, "=")
	n, err := strconv.Atoi(code)
	if !ok || err != nil || n <= 0 || !strings.HasPrefix(number, "+") {
		return errors.New("want NUMBER=CODE, an E.164 number and a Twilio error code, e.g. +15555550100=21610")
	}
	c[number] = n
	return nil
}

// withCount serves GET /fake/count, {"accepted": N}, the number of texts
// the REST API has accepted (answered 201). Benchmarks poll it every second;
// GET /fake/messages would copy a million texts each time.
func withCount(carrier http.Handler) http.Handler {
	var accepted atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fake/count" {
			if r.Method != http.MethodGet {
				w.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"accepted":%d}`+"\n", accepted.Load())
			return
		}
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/Messages.json") {
			sw := &statusWriter{ResponseWriter: w}
			carrier.ServeHTTP(sw, r)
			if sw.status == http.StatusCreated {
				accepted.Add(1)
			}
			return
		}
		carrier.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}
