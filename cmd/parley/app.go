package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/gateway"
	"github.com/parleyhq/parley/gateway/bandwidth"
	"github.com/parleyhq/parley/gateway/bird"
	"github.com/parleyhq/parley/gateway/carrier"
	"github.com/parleyhq/parley/gateway/metrics"
	"github.com/parleyhq/parley/gateway/plivo"
	"github.com/parleyhq/parley/gateway/telnyx"
	"github.com/parleyhq/parley/gateway/twilio"
	"github.com/parleyhq/parley/gateway/vonage"
	"github.com/parleyhq/parley/routing"
	"github.com/parleyhq/parley/store"
	"github.com/parleyhq/parley/web"
)

// Main is the running program: Run starts it, Close stops it. End-to-end
// tests boot it on ":0" exactly as `parley serve` does.
type Main struct {
	Config Config
	Log    zerolog.Logger
	Clock  parley.Clock

	DB         *store.DB
	Dispatcher *campaigns.Dispatcher
	Assigner   *routing.Assigner
	Metrics    *metrics.Metrics
	// Hub reads the event log and drives the effects and streams.
	Hub *events.Hub
	// Renderer renders events as the API shows them, once per instance,
	// for streams and outbound webhooks alike.
	Renderer events.Renderer
	// Webhooks delivers outbound webhooks; the hub wakes it.
	Webhooks *events.Deliverer

	scheduler *cron.Cron

	out      io.Writer
	ln       net.Listener
	server   *http.Server
	cancel   context.CancelFunc
	bg       sync.WaitGroup
	shutdown time.Duration
	// DispatcherPoll overrides how often the outbox is polled (tests).
	DispatcherPoll time.Duration
	stopOnce       sync.Once
	stopErr        error
	// draining is set once shutdown begins: /readyz answers 503.
	draining atomic.Bool
	// bgGrace bounds the wait for background work at shutdown.
	bgGrace time.Duration
}

// backgroundGrace is how long shutdown waits for the dispatcher, the
// assigner and scheduled jobs before the process exits anyway.
const backgroundGrace = 20 * time.Second

// NewMain returns a program configured by cfg that logs to out.
func NewMain(cfg Config, out io.Writer) *Main {
	var clock parley.Clock = parley.SystemClock{}
	if cfg.clock != nil {
		clock = cfg.clock
	}
	return &Main{Config: cfg, Clock: clock, out: out, Log: zerolog.Nop(), shutdown: 30 * time.Second, bgGrace: backgroundGrace}
}

// Addr is the address the server listens on (useful with ":0").
func (m *Main) Addr() string { return m.ln.Addr().String() }

// Run opens and migrates the database, bootstraps an empty one, and starts
// the HTTP server and the outbox dispatcher. It returns once serving.
func (m *Main) Run(ctx context.Context) (err error) {
	if m.Log, err = newLogger(m.Config, m.out); err != nil {
		return err
	}
	if onThisMachine(m.Config.PublicURL) {
		m.Log.Warn().Str("public_url", m.Config.PublicURL).Msg("PARLEY_PUBLIC_URL names this machine: carriers cannot reach it, " +
			"and their webhooks' signatures are checked against it. Set it to the URL carriers post to (a fake carrier on this machine is fine)")
	}
	if m.DB, err = store.Open(ctx, m.Config.DatabaseURL); err != nil {
		return err
	}
	n, err := m.DB.Migrate(ctx)
	if err != nil {
		return err
	}
	m.Log.Info().Str("database", m.DB.URL).Int("migrations_applied", n).Msg("database ready")
	if err := m.bootstrap(ctx); err != nil {
		return err
	}
	twilioSender, err := twilio.NewSender(m.Config.TwilioAPIURL, twilio.DefaultTimeout)
	if err != nil {
		return err
	}
	carriers := carrier.NewRegistry(m.Config.PublicURL, twilio.Adapter{Sender: twilioSender},
		telnyx.New(m.Config.TelnyxAPIURL, telnyx.DefaultTimeout), plivo.New(m.Config.PlivoAPIURL, plivo.DefaultTimeout),
		bandwidth.New(m.Config.BandwidthAPIURL, bandwidth.DefaultTimeout), vonage.New(m.Config.VonageAPIURL, 0),
		bird.New(m.Config.BirdAPIURL, bird.DefaultTimeout))
	m.Metrics = metrics.New()
	m.Metrics.WatchDB(m.DB.Dialect(), m.DB.PoolStats)
	m.Metrics.WatchOutbox(m.DB.OutboxDepth)
	m.Dispatcher = &campaigns.Dispatcher{
		Store: m.DB, Sender: carriers, Clock: m.Clock, Log: m.Log.With().Str("component", "dispatcher").Logger(),
		Poll: m.DispatcherPoll, Lease: m.Config.lease, SendTimeout: twilio.DefaultTimeout, Observer: m.Metrics,
	}
	m.Assigner = &routing.Assigner{Store: m.DB, Clock: m.Clock, Log: m.Log.With().Str("component", "assigner").Logger(),
		OnDecision: func(d routing.Decision, took time.Duration) { m.Metrics.ObserveAssignment(d.UserID != nil, took) }}
	ingester := &conversations.Ingester{Store: m.DB, Clock: m.Clock}
	// Every after-commit effect reacts to the event log, here and only
	// here: the dispatcher wakes for queued texts, the assigner for
	// conversations waiting and capacity freed, the webhook deliverer for
	// deliveries booked.
	m.Renderer = gateway.NewRenderer(m.DB)
	guard := &events.Guard{AllowPrivate: m.Config.allowPrivate, Resolver: m.Config.resolver}
	m.Webhooks = &events.Deliverer{Store: m.DB, Renderer: m.Renderer, Client: guard.Client(events.Timeout, 64), Clock: m.Clock,
		Log: m.Log.With().Str("component", "webhooks").Logger(), Workers: 64, Poll: m.Config.webhookPoll}
	m.Hub = &events.Hub{Log: m.DB, Logger: m.Log.With().Str("component", "events").Logger(),
		Effects: []events.Effect{m.Dispatcher.React, m.Assigner.React}}
	// The deliverer hears announcements themselves: they say whether
	// their transaction booked deliveries.
	m.DB.AnnounceTo(events.Listeners{m.Hub, m.Webhooks})
	// Streams end as soon as shutdown begins: http.Server.Shutdown waits
	// for active requests, and a stream never finishes on its own.
	closing := make(chan struct{})
	inbox, err := web.New(web.Deps{
		Log: m.Log, Clock: m.Clock, Store: m.DB, Sessions: m.DB, Staff: m.DB, Consent: m.DB, Routing: m.DB,
		Quick: m.DB, Campaigns: m.DB, Carrier: carriers, Webhooks: m.DB, Guard: guard, Outcomes: m.DB, Tags: m.DB, Revocations: m.DB, PublicURL: m.Config.PublicURL,
		LoginLimit: m.Config.loginLimit, Reports: m.DB, ExportLimit: m.Config.exportLimit,
	})
	if err != nil {
		return err
	}
	handler := gateway.NewHandler(gateway.Deps{
		Log: m.Log, Clock: m.Clock, Store: m.DB, Consent: m.DB, Ingester: ingester, Staff: m.DB, PasswordLinks: m.DB,
		Routing: m.DB, Quick: m.DB, Campaigns: m.DB, Outcomes: m.DB, Tags: m.DB, Revocations: m.DB, Carriers: carriers,
		PublicURL: m.Config.PublicURL, Ready: m.ready,
		Metrics: m.Metrics, MetricsHandler: m.Metrics.Handler(),
		Events: m.Hub, Renderer: m.Renderer, StreamHeartbeat: m.Config.heartbeat, Closing: closing,
		Webhooks: m.DB, WebhookGuard: guard, Web: inbox, CookieAuth: inbox.Authenticate,
		Reports: m.DB, ExportLimit: m.Config.exportLimit,
	})
	if m.ln, err = net.Listen("tcp", m.Config.Addr); err != nil {
		return err
	}
	writeTimeout := 30 * time.Second
	if m.Config.writeTimeout > 0 {
		writeTimeout = m.Config.writeTimeout
	}
	m.server = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       2 * time.Minute,
	}
	m.server.RegisterOnShutdown(func() { close(closing) })
	bgCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	m.goBackground(func() { m.Hub.Run(bgCtx) })
	m.goBackground(func() { _ = m.Dispatcher.Run(bgCtx) })
	m.goBackground(func() { m.Assigner.Run(bgCtx) })
	m.goBackground(func() { m.Webhooks.Run(bgCtx) })
	// Texts whose receipts never came are looked up at the carrier.
	statuses := &campaigns.StatusPoller{Store: m.DB, Carrier: carriers, Clock: m.Clock,
		Log: m.Log.With().Str("component", "status_checks").Logger(), PerSecond: m.Config.statusChecks}
	m.goBackground(func() { statuses.Run(bgCtx) })
	if err := m.startScheduler(bgCtx); err != nil {
		return err
	}
	m.goBackground(func() {
		if err := m.server.Serve(m.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Log.Error().Err(err).Msg("http server stopped")
		}
	})
	m.Log.Info().Str("addr", m.Addr()).Str("public_url", m.Config.PublicURL).Str("version", version).Msg("parley serving")
	return nil
}

func (m *Main) goBackground(fn func()) {
	m.bg.Add(1)
	go func() { defer m.bg.Done(); fn() }()
}

// Drain makes /readyz answer 503 from now on, while requests are still
// served: load balancers stop sending before the server stops.
func (m *Main) Drain() { m.draining.Store(true) }

// Close stops accepting requests, waits for in-flight ones and, up to
// bgGrace, for the dispatcher's in-flight sends and scheduled jobs, then
// closes the database.
func (m *Main) Close() error {
	m.stopOnce.Do(func() { m.stopErr = m.stop() })
	return m.stopErr
}

func (m *Main) stop() error {
	m.Drain()
	var errs []error
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.shutdown)
		defer cancel()
		errs = append(errs, m.server.Shutdown(ctx))
	}
	errs = append(errs, m.stopBackground())
	if m.DB != nil {
		errs = append(errs, m.DB.Close())
	}
	m.Log.Info().Msg("stopped")
	return errors.Join(errs...)
}

// stopBackground lets a running scheduled job finish, stops the
// dispatcher and loops, and waits for them, but no longer than bgGrace: a
// job stuck on a dead database must not keep the process from exiting.
func (m *Main) stopBackground() error {
	done := make(chan struct{})
	go func() {
		if m.scheduler != nil {
			<-m.scheduler.Stop().Done()
		}
		if m.cancel != nil {
			m.cancel()
		}
		m.bg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-time.After(m.bgGrace):
		if m.cancel != nil {
			m.cancel()
		}
		m.Log.Error().Stringer("grace", m.bgGrace).Msg("background work still running after the shutdown grace; exiting anyway")
		return fmt.Errorf("background work still running after %s", m.bgGrace)
	}
}

// ready is /readyz: the database answers and its schema is current. The
// reasons are generic: /readyz needs no auth and must not leak internals.
func (m *Main) ready(ctx context.Context) error {
	if m.draining.Load() {
		return errors.New("shutting down")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := m.DB.Ping(ctx); err != nil {
		m.Log.Warn().Err(err).Msg("readiness: database unreachable")
		return errors.New("database unreachable")
	}
	if err := m.DB.CheckSchema(ctx); err != nil {
		m.Log.Warn().Err(err).Msg("readiness: schema not current")
		return errors.New("database schema not current")
	}
	return nil
}

// bootstrap creates the "default" account and its admin on an empty
// database. The admin's token is PARLEY_BOOTSTRAP_TOKEN, or a generated one
// written to a 0600 file whose path (never the token) is logged.
func (m *Main) bootstrap(ctx context.Context) error {
	n, err := m.DB.CountAccounts(ctx)
	if err != nil || n > 0 {
		return err
	}
	generated := m.Config.BootstrapToken == ""
	var secret conversations.TokenSecret
	if generated {
		secret = conversations.NewTokenSecret()
		if err := writeSecretFile(m.Config.TokenFile, secret.Secret); err != nil {
			return err
		}
	} else if secret, err = operatorSecret("PARLEY_BOOTSTRAP_TOKEN", m.Config.BootstrapToken); err != nil {
		return err
	}
	admin := conversations.NewUser{Email: "admin@parley.local", Name: "Admin", Role: conversations.RoleAdmin}
	if _, _, err := m.DB.CreateAccount(ctx, "default", admin, secret, m.Clock.Now()); err != nil {
		return err
	}
	ev := m.Log.Info().Str("account", "default").Str("admin_email", admin.Email)
	if generated {
		abs, _ := filepath.Abs(m.Config.TokenFile)
		ev = ev.Str("token_file", abs)
	}
	ev.Msg("bootstrapped an empty database")
	return nil
}

// operatorSecret wraps a token the operator chose; setting names it in
// the error, e.g. "--token must be at least 32 characters".
func operatorSecret(setting, token string) (conversations.TokenSecret, error) {
	secret, err := conversations.TokenSecretFrom(token)
	var pe *parley.Error
	if errors.As(err, &pe) {
		return secret, fmt.Errorf("%s %s", setting, pe.Message)
	}
	return secret, err
}

// writeSecretFile writes a secret readable by its owner only.
func writeSecretFile(path, secret string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write bootstrap token: %w", err)
	}
	// O_CREATE's mode does not apply to an existing file.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// startScheduler runs the periodic jobs. Each job is skipped while its
// previous run is still going, so a slow database never piles them up.
func (m *Main) startScheduler(ctx context.Context) error {
	m.scheduler = cron.New(cron.WithSeconds(), cron.WithLocation(time.UTC),
		cron.WithChain(cron.Recover(cronLogger{m.Log}), cron.SkipIfStillRunning(cronLogger{m.Log})))
	waker := &conversations.SnoozeWaker{Store: m.DB, Clock: m.Clock, Log: m.Log.With().Str("component", "snooze").Logger()}
	if _, err := m.scheduler.AddFunc("* * * * * *", func() { waker.Wake(ctx) }); err != nil {
		return err
	}
	// Campaigns advance a tick a second: a batch of the audience expanded,
	// up to each campaign's rate of texts queued.
	if _, err := m.scheduler.AddFunc("* * * * * *", func() {
		if _, err := m.DB.AdvanceCampaigns(ctx, m.Clock.Now(), time.Second); err != nil && ctx.Err() == nil {
			m.Log.Error().Err(err).Msg("advancing campaigns failed")
		}
	}); err != nil {
		return err
	}
	// Whatever waits for an assignee (a queue that overflowed, a process
	// that died with work queued) is picked up within seconds.
	if _, err := m.scheduler.AddFunc("*/5 * * * * *", func() { m.Assigner.Sweep(ctx, 0) }); err != nil {
		return err
	}
	// The event log keeps PARLEY_EVENT_RETENTION; older events go in
	// batches, so a backlog never holds one long transaction.
	if _, err := m.scheduler.AddFunc("@every 10m", func() { m.pruneEvents(ctx) }); err != nil {
		return err
	}
	// A text that reads like "stop texting me" and waits a day unanswered
	// is brought to its assignee's (or the admins') notice.
	if _, err := m.scheduler.AddFunc("*/5 * * * * *", func() { m.remindRevocations(ctx) }); err != nil {
		return err
	}
	// Where the server's autovacuum is off, Parley keeps its own tables
	// vacuumed and analyzed (store/housekeeping.go).
	if _, err := m.scheduler.AddFunc("*/10 * * * * *", func() { m.housekeep(ctx) }); err != nil {
		return err
	}
	// PostgreSQL's recent search index follows activity (store/recent_search.go):
	// rebuilt when a day old, checked at start and every ten minutes.
	rebuildRecentSearch := func() {
		built := m.DB.RecentSearchBuiltAt(ctx)
		if !built.IsZero() && m.Clock.Now().Sub(built) < store.RecentSearchAge {
			return
		}
		if err := m.DB.RebuildRecentSearch(ctx, store.RecentSearchShare, m.Clock.Now()); err != nil && ctx.Err() == nil {
			m.Log.Error().Err(err).Msg("rebuilding the recent search index failed")
		}
	}
	if _, err := m.scheduler.AddFunc("@every 10m", rebuildRecentSearch); err != nil {
		return err
	}
	go rebuildRecentSearch()
	m.scheduler.Start()
	return nil
}

// remindRevocations notifies staff of the flags a day old and unanswered.
func (m *Main) remindRevocations(ctx context.Context) {
	now := m.Clock.Now()
	n, err := m.DB.RemindUnansweredRevocations(ctx, now.Add(-conversations.RevocationReminderAfter), now)
	if err != nil && ctx.Err() == nil {
		m.Log.Error().Err(err).Msg("reminding of unanswered revocation flags failed")
	}
	if n > 0 {
		m.Log.Info().Int("conversations", n).Msg("reminded staff of texts a day unanswered that read like a request to stop texting")
	}
}

// housekeep vacuums and analyzes the tables that need it, when the
// database does not.
func (m *Main) housekeep(ctx context.Context) {
	done, err := m.DB.Housekeep(ctx)
	if err != nil && ctx.Err() == nil {
		m.Log.Error().Err(err).Msg("housekeeping failed")
	}
	if len(done) > 0 {
		m.Log.Debug().Strs("statements", done).Msg("housekeeping")
	}
}

// cronLogger adapts zerolog to cron's logger.
type cronLogger struct{ log zerolog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug().Fields(kv).Msg("scheduler: " + msg) }

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error().Err(err).Fields(kv).Msg("scheduler: " + msg)
}

// pruneBatch is how many events one pruning transaction deletes.
const pruneBatch = 5000

// pruneEvents deletes the events older than the retention.
func (m *Main) pruneEvents(ctx context.Context) {
	cutoff := m.Clock.Now().Add(-m.Config.retention)
	total := 0
	for ctx.Err() == nil {
		n, err := m.DB.PruneEvents(ctx, cutoff, pruneBatch)
		if err != nil {
			if ctx.Err() == nil {
				m.Log.Error().Err(err).Msg("pruning the event log failed")
			}
			return
		}
		total += n
		if n < pruneBatch {
			break
		}
	}
	if total > 0 {
		m.Log.Info().Int("events", total).Time("before", cutoff).Msg("pruned the event log")
	}
	m.pruneWebhookDeliveries(ctx)
}

// pruneWebhookDeliveries deletes finished deliveries past the delivery
// log's retention.
func (m *Main) pruneWebhookDeliveries(ctx context.Context) {
	cutoff := m.Clock.Now().Add(-events.DeliveryLogRetention)
	for ctx.Err() == nil {
		n, err := m.DB.PruneWebhookDeliveries(ctx, cutoff, pruneBatch)
		if err != nil {
			if ctx.Err() == nil {
				m.Log.Error().Err(err).Msg("pruning webhook deliveries failed")
			}
			return
		}
		if n < pruneBatch {
			return
		}
	}
}

// onThisMachine reports whether a public URL names the loopback
// interface, the default when PARLEY_PUBLIC_URL is unset.
func onThisMachine(publicURL string) bool {
	u, err := url.Parse(publicURL)
	if err != nil {
		return false
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	return strings.EqualFold(host, "localhost") || (ip != nil && ip.IsLoopback())
}
