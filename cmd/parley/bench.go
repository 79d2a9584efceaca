package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier/carriertest"
	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
	"github.com/parleyhq/parley/routing"
	"github.com/parleyhq/parley/store"
)

// benchSpec is one load run (`parley bench`).
type benchSpec struct {
	Mode     string        // closed: Clients loop as fast as answers come; open: Rate arrivals a second
	Clients  int           // closed loop: concurrent clients; also the ceiling's concurrency
	Rate     float64       // open loop: webhooks a second
	Duration time.Duration // of each phase
	Warmup   time.Duration
	Mix      benchMix
	Ceiling  bool // also run the raw ingest ceiling
	Target   string
	Public   string
	// CPUProfile, when set, is where the measured phase's CPU profile of
	// this process (bench clients and, without --target, Parley) goes.
	CPUProfile string
	// LatencyTrace, when set, is a CSV file of each webhook, the warm-up's
	// too: when it was due (Unix ms), how long its answer took (ms) and
	// whether it was measured, to place a tail in time.
	LatencyTrace string
	// Streams is how many GET /v1/stream clients follow the bench
	// account meanwhile; StreamSecond opens them on a second Parley on
	// the same database (PostgreSQL), not the one texted.
	Streams      int
	StreamSecond bool
	// Carrier is whose webhooks the phones send: twilio, or one of
	// benchCarriers.
	Carrier string
	// StreamAgents, when set, is how many agents the streams sign in as
	// (round robin) instead of the admin: every new conversation is
	// auto-assigned among them, so each stream is sent its agent's
	// conversations only, as staff without view-all are.
	StreamAgents int
}

// benchMix weighs the kinds of webhook sent.
type benchMix struct{ New, Reply, Duplicate, Stop, Status int }

func (m benchMix) total() int { return m.New + m.Reply + m.Duplicate + m.Stop + m.Status }

func parseMix(s string) (benchMix, error) {
	var m benchMix
	fields := map[string]*int{"new": &m.New, "reply": &m.Reply, "duplicate": &m.Duplicate, "stop": &m.Stop, "status": &m.Status}
	for _, part := range strings.Split(s, ",") {
		name, weight, ok := strings.Cut(strings.TrimSpace(part), "=")
		dst, known := fields[name]
		n, err := strconv.Atoi(weight)
		if !ok || !known || err != nil || n < 0 {
			return m, fmt.Errorf("--mix: want kind=weight,… with kinds new, reply, duplicate, stop, status; got %q", part)
		}
		*dst = n
	}
	if m.total() == 0 {
		return m, errors.New("--mix: the weights add up to nothing")
	}
	return m, nil
}

// benchCredentials are the bench account's carrier credentials: the fake
// carrier signs with them and Parley checks them.
const (
	benchAccountSID = "ACbench0000000000000000000000000"
	benchAuthToken  = "benchtoken000000000000000000000"
)

// runBench drives signed Twilio webhooks at Parley and, with --ceiling,
// runs the same ingest transactions straight against the database with
// the same concurrency; it prints a summary and one JSON line.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var spec benchSpec
	var mix string
	cfg, err := parseConfig("bench", args, getenv, stdout, stderr, func(_ *Config, fs *flag.FlagSet) {
		fs.StringVar(&spec.Mode, "mode", "closed", "closed (clients send as fast as answers come) or open (a fixed arrival rate)")
		fs.IntVar(&spec.Clients, "clients", 16, "closed loop: concurrent clients (and the ceiling's concurrency)")
		fs.Float64Var(&spec.Rate, "rate", 200, "open loop: webhooks a second")
		fs.DurationVar(&spec.Duration, "duration", 20*time.Second, "how long each phase is measured")
		fs.DurationVar(&spec.Warmup, "warmup", 3*time.Second, "unmeasured load before each phase")
		fs.StringVar(&mix, "mix", "new=25,reply=50,duplicate=5,stop=5,status=15", "kinds of webhook and their weights")
		fs.StringVar(&spec.Carrier, "carrier", conversations.CarrierTwilio, "whose signed webhooks the phones send: twilio, telnyx, plivo, bandwidth, vonage or bird (status callbacks: Twilio's are sent as part of the mix; the other fakes post their own for the texts Parley sends)")
		fs.BoolVar(&spec.Ceiling, "ceiling", true, "also measure the raw ingest transaction on the database, no HTTP, same concurrency")
		fs.StringVar(&spec.Target, "target", "", "a running Parley's base URL on the same database (default: start one in this process)")
		fs.StringVar(&spec.Public, "target-public-url", "", "the target's PARLEY_PUBLIC_URL, signed over (default: --target)")
		fs.StringVar(&spec.CPUProfile, "cpuprofile", "", "write the webhook phase's CPU profile of this process to this file")
		fs.StringVar(&spec.LatencyTrace, "latency-trace", "", "write each webhook's due time (Unix ms), latency (ms) and whether it was measured (not warm-up) to this CSV file")
		fs.IntVar(&spec.Streams, "streams", 0, "live streams (GET /v1/stream, as the account's admin) timing each inbound text from its arrival to the client")
		fs.BoolVar(&spec.StreamSecond, "stream-second-instance", false, "open the streams on a second Parley in this process on the same PostgreSQL database")
		fs.IntVar(&spec.StreamAgents, "stream-agents", 0, "open the streams as this many agents (round robin, at most 500) who are auto-assigned every new conversation, instead of as the admin")
	})
	if err != nil {
		return err
	}
	if spec.Mix, err = parseMix(mix); err != nil {
		return err
	}
	if spec.Mode != "closed" && spec.Mode != "open" {
		return fmt.Errorf("--mode: want closed or open, got %q", spec.Mode)
	}
	if spec.Clients < 1 || spec.Rate <= 0 || spec.Duration <= 0 || spec.Streams < 0 {
		return errors.New("--clients, --rate and --duration must be positive, --streams not negative")
	}
	if spec.StreamAgents < 0 || spec.StreamAgents > 500 {
		return errors.New("--stream-agents: want 0 to 500 (one routing pool)")
	}
	if _, ok := benchCarriers[spec.Carrier]; !ok && spec.Carrier != conversations.CarrierTwilio {
		return fmt.Errorf("--carrier: want twilio, telnyx, plivo, bandwidth, vonage or bird, got %q", spec.Carrier)
	}
	if spec.Carrier != conversations.CarrierTwilio && spec.Target != "" {
		return errors.New("--carrier other than twilio needs the Parley in this process (no --target): its fake is that Parley's carrier API")
	}
	if spec.StreamSecond && (spec.Streams == 0 || spec.Target != "" || !strings.HasPrefix(cfg.DatabaseURL, "postgres")) {
		return errors.New("--stream-second-instance needs --streams, PostgreSQL and no --target")
	}
	b, err := newBench(ctx, cfg, spec, stderr)
	if err != nil {
		return err
	}
	defer b.close()
	res, err := b.run(ctx)
	if err != nil {
		return err
	}
	res.print(stdout)
	return nil
}

// bench is one run's world: the database, the bench account's channel,
// the fake carrier playing the phones and Twilio's API, and Parley.
type bench struct {
	spec    benchSpec
	db      *store.DB
	route   conversations.InboundRoute
	carrier *twiliotest.Carrier
	// other is the carrier the phones text through when not Twilio.
	other   *benchCarrier
	fake    *httptest.Server
	parley  *Main
	phones  *phoneBook
	log     io.Writer
	cleanup []func()
	// token is the bench account admin's; streams are where the streams
	// connect, as streamTokens (round robin).
	token        string
	streams      string
	streamTokens []string
	// answers is when Parley answered each text's webhook (after its
	// commit), by carrier message id, while streams time them.
	answers *sync.Map
	// trace collects the webhook phase's requests for --latency-trace.
	trace []tracePoint
}

// tracePoint is one request: when it was due, its latency, and whether
// it fell in the measured window (or in the warm-up).
type tracePoint struct {
	due      time.Time
	latency  time.Duration
	measured bool
}

func newBench(ctx context.Context, cfg Config, spec benchSpec, log io.Writer) (*bench, error) {
	b := &bench{spec: spec, log: log}
	db, err := openDev(ctx, cfg)
	if err != nil {
		return nil, err
	}
	b.db = db
	b.cleanup = append(b.cleanup, func() { db.Close() })
	// Each run texts a number of its own, so runs on one database never
	// meet each other's threads.
	business := validNumber("628", time.Now().UnixMilli())
	secret := conversations.NewTokenSecret()
	b.token = secret.Secret
	acc, _, err := db.CreateAccount(ctx, "Bench "+business, conversations.NewUser{Email: "bench" + business[1:] + "@bench.example",
		Name: "Bench", Role: conversations.RoleAdmin}, secret, time.Now())
	if err != nil {
		b.close()
		return nil, err
	}
	inbox, err := db.CreateInbox(ctx, conversations.Inbox{AccountID: acc.ID, Name: "Bench", Kind: conversations.InboxSupport, CreatedAt: time.Now()})
	if err != nil {
		b.close()
		return nil, err
	}
	b.streamTokens = []string{b.token}
	if spec.StreamAgents > 0 {
		if b.streamTokens, err = benchAgents(ctx, db, acc.ID, spec.StreamAgents); err != nil {
			b.close()
			return nil, err
		}
	}

	var api atomic.Value // the fake carrier's API, once Parley's address is known
	b.fake = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { api.Load().(http.Handler).ServeHTTP(w, r) }))
	// The fake carrier closes after Parley (cleanups run last first), so
	// that Parley never sends to a carrier that is gone.
	var closeCarrier func()
	b.cleanup = append(b.cleanup, b.fake.Close, func() {
		if closeCarrier != nil {
			closeCarrier()
		}
	})
	target, public := spec.Target, spec.Public
	if target == "" {
		// Parley in this process, on the same database, with the fake
		// carrier as Twilio's API.
		pcfg := cfg
		pcfg.Addr, pcfg.LogLevel, pcfg.LogFormat = "127.0.0.1:0", "error", "json"
		pcfg.setCarrierAPIs(b.fake.URL)
		pcfg.TokenFile = filepath.Join(os.TempDir(), "parley-bench.token")
		b.parley = NewMain(pcfg, log)
		if err := b.parley.Run(ctx); err != nil {
			b.close()
			return nil, err
		}
		b.cleanup = append(b.cleanup, func() { b.parley.Close() })
		target, public = "http://"+b.parley.Addr(), pcfg.PublicURL
	}
	b.streams = target
	if spec.StreamSecond {
		second, err := b.secondParley(ctx, cfg)
		if err != nil {
			b.close()
			return nil, err
		}
		b.streams = second
	}
	if public == "" {
		public = target
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}
	ch := conversations.Channel{AccountID: acc.ID, InboxID: inbox.ID, Carrier: spec.Carrier, PhoneNumber: business, CreatedAt: time.Now()}
	if spec.Carrier == conversations.CarrierTwilio {
		ch.CarrierAccountID, ch.AuthToken = fmt.Sprintf("ACbench%025d", time.Now().UnixNano()%1e18), benchAuthToken
		c := twiliotest.New(twiliotest.Config{Accounts: map[string]string{ch.CarrierAccountID: benchAuthToken}, ParleyURL: target, PublicURL: public,
			HTTPClient: client})
		api.Store(http.Handler(c))
		b.carrier, closeCarrier = c, c.Close
	} else {
		b.other = benchCarriers[spec.Carrier](business, target, public, client)
		api.Store(b.other.api)
		closeCarrier = b.other.close
		ch.CarrierAccountID, ch.AuthToken, ch.WebhookSecret, ch.Options = b.other.channel.CarrierAccountID, b.other.channel.AuthToken,
			b.other.channel.WebhookSecret, b.other.channel.Options
	}
	created, err := db.CreateChannel(ctx, ch)
	if err != nil {
		b.close()
		return nil, err
	}
	if b.other != nil && b.other.connected != nil {
		b.other.connected(created.WebhookURLs(public))
	}
	if b.route, err = db.FindInboundRoute(ctx, spec.Carrier, ch.CarrierAccountID, business, ""); err != nil {
		b.close()
		return nil, err
	}
	b.phones = &phoneBook{business: business, account: ch.CarrierAccountID, next: rand.Int64N(8_000_000)}
	return b, nil
}

// benchAgents adds n agents to the account, auto-assigned every new
// conversation round robin, and returns their API tokens.
func benchAgents(ctx context.Context, db *store.DB, accountID parley.ID, n int) ([]string, error) {
	now := time.Now()
	tokens := make([]string, n)
	pool := make([]parley.ID, n)
	for i := range n {
		secret := conversations.NewTokenSecret()
		u, _, err := db.CreateUser(ctx, accountID, conversations.NewUser{Email: fmt.Sprintf("agent%d@bench.example", i),
			Name: fmt.Sprintf("Agent %d", i), Role: conversations.RoleAgent}, secret, now)
		if err != nil {
			return nil, err
		}
		tokens[i], pool[i] = secret.Secret, u.ID
	}
	if _, err := db.CreateRoutingTable(ctx, routing.Table{AccountID: accountID, Name: "Bench agents", Default: true,
		Entries: []routing.Entry{{UserIDs: pool, Strategy: routing.RoundRobin}}, CreatedAt: now, UpdatedAt: now}); err != nil {
		return nil, err
	}
	_, err := db.UpdateSettings(ctx, accountID, func(s conversations.Settings) (conversations.Settings, error) {
		s.AllowAutoAssignment = true
		return s, nil
	}, now)
	return tokens, err
}

// secondParley starts another Parley in this process on the bench's
// database, as a second instance would run, and returns its base URL.
func (b *bench) secondParley(ctx context.Context, cfg Config) (string, error) {
	pcfg := cfg
	pcfg.Addr, pcfg.LogLevel, pcfg.LogFormat = "127.0.0.1:0", "error", "json"
	pcfg.setCarrierAPIs(b.fake.URL)
	pcfg.TokenFile = filepath.Join(os.TempDir(), "parley-bench-second.token")
	second := NewMain(pcfg, b.log)
	if err := second.Run(ctx); err != nil {
		return "", err
	}
	b.cleanup = append(b.cleanup, func() { second.Close() })
	return "http://" + second.Addr(), nil
}

func (b *bench) close() {
	for i := len(b.cleanup) - 1; i >= 0; i-- {
		b.cleanup[i]()
	}
}

// benchResult is what a run measured.
type benchResult struct {
	DB         string  `json:"db"`
	Carrier    string  `json:"carrier"`
	Mode       string  `json:"mode"`
	Clients    int     `json:"clients,omitempty"`
	Rate       float64 `json:"rate,omitempty"`
	Seconds    float64 `json:"seconds"`
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	RPS        float64 `json:"rps"`
	P50        float64 `json:"p50_ms"`
	P90        float64 `json:"p90_ms"`
	P99        float64 `json:"p99_ms"`
	Max        float64 `json:"max_ms"`
	CeilingTPS float64 `json:"ceiling_tps,omitempty"`
	Ratio      float64 `json:"ratio,omitempty"`
	// TextsPerCommit is how many texts Parley's group commit wrote per
	// transaction (in-process Parley on PostgreSQL only).
	TextsPerCommit float64 `json:"texts_per_commit,omitempty"`
	// CPUms is the CPU a request cost this process (Parley with its load
	// generator) over the measured window, in milliseconds; PostgresCPUms
	// what it cost the PostgreSQL server's processes on this machine (zero
	// on SQLite or a remote server).
	CPUms         float64 `json:"cpu_ms"`
	PostgresCPUms float64 `json:"postgres_cpu_ms,omitempty"`
	// Deadlocks are the lone ingests the database aborted (and Parley
	// retried); BatchFallbacks the group-commit batches that failed as a
	// whole, each text then written alone (in-process Parley only).
	Deadlocks      int64 `json:"deadlocks"`
	BatchFallbacks int64 `json:"batch_fallbacks"`
	// Statements is how many statements Parley's transactions ran a
	// webhook, the work its answers set off (replies sent, their
	// receipts) included: each a round trip (in-process Parley only).
	Statements float64 `json:"statements,omitempty"`
	// Streams is what live streams measured meanwhile (--streams).
	*streamResult `json:",omitempty"`
}

func (b *bench) run(ctx context.Context) (benchResult, error) {
	res := benchResult{DB: b.db.Dialect(), Carrier: b.spec.Carrier, Mode: b.spec.Mode}
	fmt.Fprintf(b.log, "bench: %s loop on %s for %s (after %s warm-up)\n", b.spec.Mode, res.DB, b.spec.Duration, b.spec.Warmup)
	stop, err := b.profile()
	if err != nil {
		return res, err
	}
	var streams *streamWatch
	if b.spec.Streams > 0 {
		fmt.Fprintf(b.log, "bench: opening %d streams on %s\n", b.spec.Streams, b.streams)
		b.answers = &sync.Map{}
		if streams, err = openStreams(ctx, b.streams, b.streamTokens, b.spec.Streams, b.answers, b.log); err != nil {
			return res, err
		}
		from := time.Now().Add(b.spec.Warmup)
		streams.window(from, from.Add(b.spec.Duration))
	}
	before := b.counts()
	hist, n, errs, took, cpu := b.phase(ctx, b.webhook, b.spec.LatencyTrace != "")
	if err := b.writeTrace(); err != nil {
		return res, err
	}
	if streams != nil {
		instance := "same"
		if b.spec.StreamSecond {
			instance = "second"
		}
		r := streams.result(instance)
		r.Agents = b.spec.StreamAgents
		res.streamResult = &r
	}
	phase := b.counts().since(before)
	res.Deadlocks, res.BatchFallbacks = phase.deadlocks, phase.fallbacks
	if phase.batches > 0 {
		res.TextsPerCommit = float64(phase.texts) / float64(phase.batches)
	}
	if err := stop(); err != nil {
		return res, err
	}
	res.Seconds, res.Requests, res.Errors = took.Seconds(), n, errs
	res.RPS = float64(n) / took.Seconds()
	if n > 0 {
		res.Statements = float64(phase.statements) / float64(n)
		res.CPUms, res.PostgresCPUms = cpu.per(int(n))
		if res.DB != "postgres" {
			res.PostgresCPUms = 0 // the server's work then is not this run's
		}
	}
	ms := func(q float64) float64 { return float64(hist.ValueAtQuantile(q)) / 1000 }
	res.P50, res.P90, res.P99, res.Max = ms(50), ms(90), ms(99), float64(hist.Max())/1000
	if b.spec.Mode == "closed" {
		res.Clients = b.spec.Clients
	} else {
		res.Rate = b.spec.Rate
	}
	if b.spec.Ceiling {
		fmt.Fprintf(b.log, "bench: the ceiling, the same ingest transactions on the database with %d clients\n", b.spec.Clients)
		closed := b.spec
		closed.Mode = "closed"
		b.spec, closed = closed, b.spec
		_, cn, _, ctook, _ := b.phase(ctx, b.ingestDirect, false)
		b.spec = closed
		res.CeilingTPS = float64(cn) / ctook.Seconds()
		res.Ratio = res.RPS / res.CeilingTPS
	}
	return res, nil
}

// writeTrace writes the webhook phase's requests, the warm-up's included,
// in the order they were due, when --latency-trace asks for them.
func (b *bench) writeTrace() error {
	if b.spec.LatencyTrace == "" {
		return nil
	}
	slices.SortFunc(b.trace, func(x, y tracePoint) int { return x.due.Compare(y.due) })
	var buf bytes.Buffer
	buf.WriteString("due_unix_ms,latency_ms,measured\n")
	for _, p := range b.trace {
		fmt.Fprintf(&buf, "%d,%.3f,%t\n", p.due.UnixMilli(), float64(p.latency.Microseconds())/1000, p.measured)
	}
	return os.WriteFile(b.spec.LatencyTrace, buf.Bytes(), 0o644)
}

// profile starts the CPU profile asked for; stop ends it.
func (b *bench) profile() (stop func() error, err error) {
	if b.spec.CPUProfile == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(b.spec.CPUProfile)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// parleyCounts are the in-process Parley's counters at a moment (zero
// when Parley runs elsewhere): group commit's batches and their texts,
// deadlocks, batch fallbacks and transactions' statements.
type parleyCounts struct{ batches, texts, deadlocks, fallbacks, statements int64 }

func (b *bench) counts() parleyCounts {
	if b.parley == nil {
		return parleyCounts{}
	}
	db := b.parley.DB
	batches, texts := db.GroupCommitStats()
	return parleyCounts{batches, texts, db.Deadlocks(), db.BatchFallbacks(), db.TxStatements()}
}

// since is what was counted between the earlier reading and c.
func (c parleyCounts) since(earlier parleyCounts) parleyCounts {
	return parleyCounts{c.batches - earlier.batches, c.texts - earlier.texts, c.deadlocks - earlier.deadlocks,
		c.fallbacks - earlier.fallbacks, c.statements - earlier.statements}
}

// phase runs op under the spec's loop for the warm-up, then measures it
// for the duration: a latency histogram (µs), how many ran and failed.
//
// cpu is the CPU spent within the measured window, by this process and by
// a PostgreSQL server on this machine.
func (b *bench) phase(ctx context.Context, op func(ctx context.Context, rng *rand.Rand) error, trace bool) (
	hist *hdrhistogram.Histogram, n, nerr int64, took time.Duration, cpu cpuClock) {
	hist = hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
	var mu sync.Mutex
	var count, errs atomic.Int64
	var firstErr sync.Once
	start := time.Now()
	measureFrom := start.Add(b.spec.Warmup)
	end := measureFrom.Add(b.spec.Duration)
	window := sampleCPU(ctx, measureFrom, end)
	// A request counts when it was due (open loop) or began (closed loop)
	// within the window, however late its answer: dropping late answers
	// would hide an overload.
	record := func(intended time.Time, err error) {
		done := time.Now()
		measured := !intended.Before(measureFrom) && intended.Before(end)
		if trace {
			mu.Lock()
			b.trace = append(b.trace, tracePoint{intended, done.Sub(intended), measured})
			mu.Unlock()
		}
		if !measured {
			return
		}
		count.Add(1)
		if err != nil {
			errs.Add(1)
			firstErr.Do(func() { fmt.Fprintf(b.log, "bench: first error: %v\n", err) })
		}
		mu.Lock()
		_ = hist.RecordValue(done.Sub(intended).Microseconds())
		mu.Unlock()
	}
	var wg sync.WaitGroup
	if b.spec.Mode == "closed" {
		for i := range b.spec.Clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))
				for time.Now().Before(end) && ctx.Err() == nil {
					began := time.Now()
					record(began, op(ctx, rng))
				}
			}()
		}
	} else {
		// Open loop: arrivals at fixed times whatever the answers, each
		// timed from when it was due, so a stall shows in the latencies
		// instead of slowing the arrivals (coordinated omission).
		interval := time.Duration(float64(time.Second) / b.spec.Rate)
		for i := 0; ctx.Err() == nil; i++ {
			due := start.Add(time.Duration(i) * interval)
			if !due.Before(end) {
				break
			}
			time.Sleep(time.Until(due))
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))
				record(due, op(ctx, rng))
			}()
		}
	}
	wg.Wait()
	return hist, count.Load(), errs.Load(), b.spec.Duration, <-window
}

// sampleCPU reads the CPU clock at from and at end (or when ctx ends) and
// sends what the window between them cost.
func sampleCPU(ctx context.Context, from, end time.Time) <-chan cpuClock {
	out := make(chan cpuClock, 1)
	go func() {
		select {
		case <-time.After(time.Until(from)):
		case <-ctx.Done():
		}
		first := readCPU()
		select {
		case <-time.After(time.Until(end)):
		case <-ctx.Done():
		}
		out <- readCPU().since(first)
	}()
	return out
}

// webhook sends one webhook of the mix to Parley; a non-200 is an error.
func (b *bench) webhook(ctx context.Context, rng *rand.Rand) error {
	kind := b.pick(rng)
	if b.other != nil {
		return b.otherWebhook(ctx, kind, rng)
	}
	if kind == "status" {
		if sid, ok := b.phones.outboundSid(b.carrier, rng); ok {
			code, err := b.carrier.SendStatus(ctx, sid, "delivered", 0)
			return answered(code, err)
		}
		kind = "reply"
	}
	in := b.phones.text(kind, rng)
	res, err := b.carrier.SendInbound(ctx, twiliotest.Inbound{AccountSid: b.phones.account, From: in.From, To: in.To, Body: in.Body, MessageSid: in.CarrierMessageID})
	if b.answers != nil && err == nil {
		b.answers.Store(in.CarrierMessageID, time.Now())
	}
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("inbound webhook answered %d: %s", res.StatusCode, res.Body)
	}
	return err
}

// otherWebhook has a phone text through a carrier other than Twilio;
// status callbacks in the mix are replies there (the fake posts its own
// receipts for each text Parley sends).
func (b *bench) otherWebhook(ctx context.Context, kind string, rng *rand.Rand) error {
	if kind == "status" {
		kind = "reply"
	}
	in := b.phones.text(kind, rng)
	code, err := b.other.send(ctx, carriertest.Inbound{ID: in.CarrierMessageID, From: in.From, To: in.To, Text: in.Body})
	if b.answers != nil && err == nil {
		b.answers.Store(in.CarrierMessageID, time.Now())
	}
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("inbound webhook answered %d", code)
	}
	return err
}

func answered(code int, err error) error {
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("status callback answered %d", code)
	}
	return err
}

// ingestDirect runs the ingest transaction of one text of the mix straight
// on the database: what Parley's webhook commits, without HTTP, signature
// or routing. Status callbacks are replaced by replies: the ceiling is the
// inbound transaction's.
func (b *bench) ingestDirect(ctx context.Context, rng *rand.Rand) error {
	kind := b.pick(rng)
	if kind == "status" {
		kind = "reply"
	}
	in := b.phones.text(kind, rng)
	ing := conversations.Ingester{Store: oneTransactionEach{b.db}, Clock: parleyClock}
	_, err := ing.Ingest(ctx, b.route, in)
	return err
}

// oneTransactionEach is the store with every text in a transaction of its
// own, group commit or not: the ceiling Parley's batches are measured
// against.
type oneTransactionEach struct{ *store.DB }

func (s oneTransactionEach) Ingest(ctx context.Context, p conversations.IngestPlan) (conversations.IngestResult, error) {
	return s.IngestAlone(ctx, p)
}

func (b *bench) pick(rng *rand.Rand) string {
	m := b.spec.Mix
	n := rng.IntN(m.total())
	for _, k := range []struct {
		name   string
		weight int
	}{{"new", m.New}, {"reply", m.Reply}, {"duplicate", m.Duplicate}, {"stop", m.Stop}, {"status", m.Status}} {
		if n < k.weight {
			return k.name
		}
		n -= k.weight
	}
	return "reply"
}

func (r benchResult) print(w io.Writer) {
	fmt.Fprintf(w, "%s, %s, %s loop: %d webhooks in %.1f s = %.0f/s, %d errors\n", r.DB, r.Carrier, r.Mode, r.Requests, r.Seconds, r.RPS, r.Errors)
	fmt.Fprintf(w, "latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", r.P50, r.P90, r.P99, r.Max)
	if r.CeilingTPS > 0 {
		fmt.Fprintf(w, "ceiling: %.0f ingest transactions/s straight on the database; ratio %.2f\n", r.CeilingTPS, r.Ratio)
	}
	if r.TextsPerCommit > 0 {
		fmt.Fprintf(w, "group commit: %.1f texts per transaction\n", r.TextsPerCommit)
	}
	fmt.Fprintf(w, "cpu a webhook: %.3f ms this process (Parley and the load)", r.CPUms)
	if r.PostgresCPUms > 0 {
		fmt.Fprintf(w, ", %.3f ms PostgreSQL", r.PostgresCPUms)
	}
	fmt.Fprintln(w)
	if r.streamResult != nil {
		r.streamResult.print(w)
	}
	line, _ := json.Marshal(struct {
		Kind string `json:"kind"`
		benchResult
	}{"ingest", r})
	fmt.Fprintln(w, string(line))
}

var parleyClock = parley.SystemClock{}

// phoneBook makes the texts of the mix: new phones, replies from known
// ones, resent duplicates, STOP and START, and finds sids of texts Parley
// sent for status callbacks.
type phoneBook struct {
	business, account string

	mu     sync.Mutex
	next   int64
	known  []string
	stops  map[string]bool             // phones that last said STOP
	recent []conversations.InboundText // a ring of sent texts, to resend
	sids   []string
	sidsAt time.Time
}

// validNumber is the n-th (modulo 8 million) valid US number of an area
// code: exchanges start at 200.
func validNumber(area string, n int64) string {
	n %= 8_000_000
	return fmt.Sprintf("+1%s%03d%04d", area, 200+n/10_000, n%10_000)
}

var benchWords = strings.Fields("hi hello thanks please when can you come by my order quote today tomorrow price job visit time is it ready")

func (p *phoneBook) text(kind string, rng *rand.Rand) conversations.InboundText {
	p.mu.Lock()
	defer p.mu.Unlock()
	if kind == "duplicate" && len(p.recent) > 0 {
		return p.recent[rng.IntN(len(p.recent))]
	}
	var from string
	if kind == "new" || len(p.known) == 0 {
		p.next++
		from = validNumber("415", p.next)
		p.known = append(p.known, from)
	} else {
		from = p.known[rng.IntN(len(p.known))]
	}
	words := make([]string, 3+rng.IntN(10))
	for i := range words {
		words[i] = benchWords[rng.IntN(len(benchWords))]
	}
	body := strings.Join(words, " ")
	if kind == "stop" {
		if p.stops == nil {
			p.stops = map[string]bool{}
		}
		body = "STOP"
		if p.stops[from] {
			body = "START"
		}
		p.stops[from] = !p.stops[from]
	}
	in := conversations.InboundText{CarrierMessageID: fmt.Sprintf("SM%032x", rng.Uint64()), From: from, To: p.business, Body: body, Segments: 1}
	if len(p.recent) < 1000 {
		p.recent = append(p.recent, in)
	} else {
		p.recent[rng.IntN(len(p.recent))] = in
	}
	return in
}

// outboundSid picks a text Parley sent (a confirmation or an auto-reply)
// from the fake carrier's list, refreshed at most every half second.
func (p *phoneBook) outboundSid(c *twiliotest.Carrier, rng *rand.Rand) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.sidsAt) > 500*time.Millisecond {
		p.sids = p.sids[:0]
		for _, m := range c.Messages() {
			p.sids = append(p.sids, m.Sid)
		}
		p.sidsAt = time.Now()
	}
	if len(p.sids) == 0 {
		return "", false
	}
	return p.sids[rng.IntN(len(p.sids))], true
}
