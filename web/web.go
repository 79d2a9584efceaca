// Package web is the staff web inbox: server-rendered html/template pages
// and one small hand-written JavaScript module, embedded in the binary, the
// way miniflux's internal/ui does it. Its handlers call the domain as
// gateway's do; it adds sign-in with passwords and sessions, forms with
// CSRF tokens, and panes (list, thread, details) that are each their own
// URL so that the script can re-fetch one when the event stream says it
// changed.
package web

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/optout"
	"github.com/parleyhq/parley/outcomes"
	"github.com/parleyhq/parley/reports"
	"github.com/parleyhq/parley/routing"
)

// Deps is what the web inbox needs: the same domain services the JSON API
// uses, and the session store.
type Deps struct {
	Log       zerolog.Logger
	Clock     parley.Clock
	Store     conversations.Store
	Sessions  conversations.SessionStore
	Staff     conversations.StaffStore
	Consent   optout.Register
	Routing   routing.Store
	Quick     campaigns.QuickStore
	Campaigns campaigns.CampaignStore
	Carrier   conversations.CarrierVerifier
	Webhooks  events.EndpointStore
	Guard     *events.Guard
	Outcomes  outcomes.Store
	// PublicURL is PARLEY_PUBLIC_URL: links in pages (webhook URLs to paste
	// into the carrier, set-password links) are built from it, and
	// cookies are Secure when it is https.
	PublicURL string
	// LoginLimit bounds failed sign-ins (DefaultLoginLimit when zero).
	LoginLimit LoginLimit
	// Reports gathers the reports' figures; ExportLimit is the most rows
	// a download writes (export.MaxRows when zero), as in the API.
	Reports     reports.Store
	ExportLimit int
	// Tags keeps the account's tags and the conversations' tags.
	Tags conversations.TagStore
	// Revocations answers the flags texts like "stop texting me" raise.
	Revocations conversations.RevocationStore
}

// Server serves the web inbox.
type Server struct {
	d      Deps
	pages  *pages
	logins *loginLimiter
	router *mux.Router
}

// New builds the web inbox; it fails only if a template does not parse.
func New(d Deps) (*Server, error) {
	d.PublicURL = strings.TrimRight(d.PublicURL, "/")
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{d: d, pages: p, logins: newLoginLimiter(d.LoginLimit)}
	s.router = s.routes()
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	s.router.ServeHTTP(w, r)
}

// routes lists the web inbox's routes; each area registers its own pages.
func (s *Server) routes() *mux.Router {
	r := mux.NewRouter()
	r.NotFoundHandler = s.public(func(w http.ResponseWriter, r *http.Request) error {
		s.fail(w, s.withSession(r), parley.Errorf(parley.ENOTFOUND, "there is no page at %s", r.URL.Path))
		return nil
	})
	r.PathPrefix("/static/").Handler(staticFiles()).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/", http.RedirectHandler("/inbox", http.StatusSeeOther)).Methods(http.MethodGet)
	s.sessionRoutes(r)
	s.inboxRoutes(r)
	s.contactRoutes(r)
	s.quickRoutes(r)
	s.campaignRoutes(r)
	s.notificationRoutes(r)
	s.settingsRoutes(r)
	s.settingsRoutingRoutes(r)
	s.reportRoutes(r)
	s.outboundReportRoutes(r)
	s.tagRoutes(r)
	return r
}

// pathID is the {id} of the request's path; a malformed one names nothing
// (ENOTFOUND), as in the API.
func pathID(r *http.Request) (parley.ID, error) { return varID(r, "id") }

// varID is the id in the path variable name.
func varID(r *http.Request, name string) (parley.ID, error) {
	id, err := parley.ParseID(mux.Vars(r)[name])
	if err != nil {
		return 0, parley.Errorf(parley.ENOTFOUND, "there is no page at %s", r.URL.Path)
	}
	return id, nil
}
