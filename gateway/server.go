// Package gateway is Parley's HTTP edge: the router and middleware, the
// JSON API handlers and the carrier webhooks. Handlers decode and
// authorise, call the domain, and encode; the rules live in the domain
// packages.
package gateway

import (
	"context"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/gateway/carrier"
	"github.com/parleyhq/parley/gateway/twilio"
	"github.com/parleyhq/parley/optout"
	"github.com/parleyhq/parley/outcomes"
	"github.com/parleyhq/parley/reports"
	"github.com/parleyhq/parley/routing"
)

// Deps is everything the handlers need.
type Deps struct {
	Log       zerolog.Logger
	Clock     parley.Clock
	Store     conversations.Store
	Consent   optout.Register
	Ingester  *conversations.Ingester
	Staff     conversations.StaffStore
	Routing   routing.Store
	Quick     campaigns.QuickStore
	Campaigns campaigns.CampaignStore
	// Outcomes keeps records, links, outcomes and suggestions.
	Outcomes outcomes.Store
	// Tags keeps tags, the tags on conversations and their episodes.
	Tags conversations.TagStore
	// Revocations answers the flags texts like "stop texting me" raise.
	Revocations conversations.RevocationStore
	// Carrier vouches for a channel's credentials before they are stored
	// (Carriers when nil).
	Carrier conversations.CarrierVerifier
	// Carriers reads the carriers' webhooks (Twilio's alone when nil).
	Carriers *carrier.Registry
	// PasswordLinks keeps the set-password links POST /v1/users issues.
	PasswordLinks conversations.PasswordLinkStore
	// PublicURL is PARLEY_PUBLIC_URL without a trailing slash: webhook
	// signatures are checked against it, and webhook URLs and
	// set-password links are built from it.
	PublicURL string
	// Ready reports whether the service can take traffic (/readyz).
	Ready func(ctx context.Context) error
	// Events is the instance's event hub, which /v1/stream follows, and
	// Renderer renders what it sends (NewRenderer).
	Events   *events.Hub
	Renderer events.Renderer
	// StreamHeartbeat is how often an idle stream sends a comment line
	// (DefaultStreamHeartbeat when zero).
	StreamHeartbeat time.Duration
	// Closing is closed when the server begins to shut down: streams end
	// then, so that shutting down does not wait for them.
	Closing <-chan struct{}
	// Webhooks keeps outbound webhook endpoints; WebhookGuard vets their
	// URLs.
	Webhooks     events.EndpointStore
	WebhookGuard *events.Guard
	// Web serves every path the API and the webhooks do not: the staff
	// web inbox. CookieAuth lets API requests from its pages authenticate
	// with the session cookie (EUNAUTHENTICATED when there is none).
	Web        http.Handler
	CookieAuth func(r *http.Request) (conversations.User, error)
	// Metrics is told of every request; MetricsHandler serves /metrics.
	Metrics        Metrics
	MetricsHandler http.Handler
	// Reports gathers report figures and export rows; ExportLimit is the
	// most rows an export writes (export.MaxRows when zero).
	Reports     reports.Store
	ExportLimit int
}

// NewHandler returns Parley's HTTP handler.
func NewHandler(d Deps) http.Handler {
	d.PublicURL = strings.TrimRight(d.PublicURL, "/")
	switch {
	case d.Carrier == nil && d.Carriers != nil:
		d.Carrier = d.Carriers
	case d.Carrier == nil:
		d.Carrier = noCarrier{}
	}
	if d.Carriers == nil {
		d.Carriers = carrier.NewRegistry(d.PublicURL, twilio.Adapter{})
	}
	if d.WebhookGuard == nil {
		d.WebhookGuard = &events.Guard{}
	}
	return withMiddleware(d.Log, routes(&d))
}

// withMiddleware wraps h in what every request goes through. Outermost
// first: request id and logger, then access log, then panic recovery, so
// a panic is logged with its request id.
func withMiddleware(log zerolog.Logger, h http.Handler) http.Handler {
	h = recoverer(h)
	h = hlog.AccessHandler(accessLog)(h)
	h = hlog.RequestIDHandler("req_id", "X-Request-Id")(h)
	return hlog.NewHandler(log)(h)
}

// probePaths are polled by load balancers and Prometheus every few
// seconds: at info they would drown the requests people make.
var probePaths = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

func accessLog(r *http.Request, status, size int, d time.Duration) {
	log := hlog.FromRequest(r)
	ev := log.Info()
	if probePaths[r.URL.Path] {
		ev = log.Debug()
	}
	ev.Str("method", r.Method).Str("path", loggedPath(r.URL.Path)).Int("status", status).
		Int("size", size).Float64("duration_ms", float64(d)/float64(time.Millisecond)).Msg("request")
}

// loggedPath is a request's path as the access log keeps it: a
// set-password link's secret and the token in a Bandwidth channel's
// webhook URLs ({account}.{token}, half of what authenticates its
// callbacks) are credentials and stay out of the logs.
func loggedPath(p string) string {
	if strings.HasPrefix(p, conversations.SetPasswordPath) {
		return conversations.SetPasswordPath + "…"
	}
	if rest, ok := strings.CutPrefix(p, bandwidthWebhooks); ok {
		key, kind, _ := strings.Cut(rest, "/")
		if account, _, hasToken := strings.Cut(key, "."); hasToken {
			return bandwidthWebhooks + account + ".…/" + kind
		}
	}
	return p
}

const bandwidthWebhooks = "/webhooks/" + conversations.CarrierBandwidth + "/"

// recoverer turns a panic into a 500 with no internals in the answer.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				// zerolog's Stack() needs an error with a stack; debug.Stack
				// is the panicking goroutine's, taken here in its defer.
				hlog.FromRequest(r).Error().Interface("panic", v).Str("stack", string(debug.Stack())).Msg("handler panicked")
				writeError(w, r, parley.Errorf(parley.EINTERNAL, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type userKey struct{}

// authenticate requires a valid bearer token and puts its user in the context.
func authenticate(d *Deps, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, err := requestUser(d, r)
		if err != nil {
			switch {
			case !parley.IsKind(err, parley.EUNAUTHENTICATED):
			case r.Header.Get("Authorization") == "":
				w.Header().Set("WWW-Authenticate", `Bearer realm="parley"`)
			default:
				w.Header().Set("WWW-Authenticate", `Bearer realm="parley", error="invalid_token"`)
			}
			writeError(w, r, err)
			return
		}
		hlog.FromRequest(r).UpdateContext(func(c zerolog.Context) zerolog.Context {
			return c.Stringer("account_id", user.AccountID).Stringer("user_id", user.ID)
		})
		if err := refuseNULQuery(r); err != nil {
			writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
	})
}

// requestUser finds the user of a bearer token or, from the web inbox's
// pages, of the session cookie.
func requestUser(d *Deps, r *http.Request) (conversations.User, error) {
	header := r.Header.Get("Authorization")
	if header == "" && d.CookieAuth != nil {
		if u, err := d.CookieAuth(r); err == nil || !parley.IsKind(err, parley.EUNAUTHENTICATED) {
			return u, err
		}
	}
	// Auth schemes are case-insensitive (RFC 7235 §2.1).
	scheme, secret, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return conversations.User{}, parley.Errorf(parley.EUNAUTHENTICATED, "an Authorization: Bearer <token> header is required")
	}
	return d.Store.Authenticate(r.Context(), conversations.HashToken(strings.TrimSpace(secret)), d.Clock.Now())
}

// currentUser is the authenticated user of an API request.
func currentUser(r *http.Request) conversations.User {
	return r.Context().Value(userKey{}).(conversations.User)
}

// requireAdmin returns EFORBIDDEN unless the caller is an admin.
func requireAdmin(r *http.Request) error {
	if !currentUser(r).IsAdmin() {
		return forbidden("this action needs the admin role")
	}
	return nil
}

// pageFrom reads ?limit= and ?cursor=.
func pageFrom(r *http.Request) (conversations.Page, error) {
	q := r.URL.Query()
	p := conversations.Page{Cursor: q.Get("cursor")}
	if raw := q.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > conversations.MaxPageLimit {
			return p, parley.Invalid(map[string]string{"limit": "must be a whole number from 1 to 200"})
		}
		p.Limit = n
	}
	return p.Normalize(), nil
}

// noCarrier is the CarrierVerifier of a handler built without one: it
// vouches for nothing, so no channel is stored unverified.
type noCarrier struct{}

func (noCarrier) CheckChannel(*conversations.Channel) map[string]string { return nil }

func (noCarrier) VerifyChannel(context.Context, conversations.Channel) error {
	return conversations.CarrierUnavailable("no carrier client is configured to verify channels")
}
