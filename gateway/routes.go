package gateway

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// routes lists every route of Parley in one place.
func routes(d *Deps) http.Handler {
	r := mux.NewRouter()
	// Paths are matched as sent: cleaning answered a PUT of a record id
	// holding "//" or ".." with a redirect to another id's path.
	r.SkipClean(true)
	r.NotFoundHandler = http.HandlerFunc(notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(methodNotAllowed)
	var m Metrics = noMetrics{}
	if d.Metrics != nil {
		m = d.Metrics
	}
	r.Use(instrument(m))

	r.Handle("/healthz", handleHealthz()).Methods(http.MethodGet)
	r.Handle("/readyz", handleReadyz(d)).Methods(http.MethodGet)
	r.Handle("/openapi.json", handleOpenAPI()).Methods(http.MethodGet)
	// Prometheus scrapes without a token: the metrics carry no tenant data.
	metrics := d.MetricsHandler
	if metrics == nil {
		metrics = http.HandlerFunc(notFound)
	}
	r.Handle("/metrics", metrics).Methods(http.MethodGet)

	// Carrier webhooks: authenticated by the carrier's signature, their
	// bodies bounded before anything reads them. Twilio's URLs name no
	// account; the other carriers' do. GET is for the carriers that can
	// deliver by it (carrier.ByGET).
	for _, kind := range []carrier.Kind{carrier.Messages, carrier.Status} {
		h := limitBody(maxWebhookBytes, handleCarrierWebhook(d, kind))
		r.Handle("/webhooks/twilio/"+string(kind), h).Methods(http.MethodPost, http.MethodGet)
		r.Handle("/webhooks/{carrier}/{key}/"+string(kind), h).Methods(http.MethodPost, http.MethodGet)
	}

	// The API routes sit on the root router, each wrapped in bearer auth:
	// a /v1 subrouter answers 404 instead of 405 for a method mismatch on
	// some paths (gorilla/mux), and 405 tells a client more.
	api := func(path string, h apiFunc, methods ...string) {
		r.Handle("/v1"+path, authenticate(d, h)).Methods(methods...)
	}

	api("/me", handleGetMe(d), http.MethodGet)
	api("/me", handlePatchMe(d), http.MethodPatch)
	api("/settings/conversations", handleGetSettings(d), http.MethodGet)
	api("/settings/conversations", handlePatchSettings(d), http.MethodPatch)
	api("/users", handleListUsers(d), http.MethodGet)
	api("/users", handleCreateUser(d), http.MethodPost)
	api("/users/{id}", handleGetUser(d), http.MethodGet)
	api("/users/{id}", handlePatchUser(d), http.MethodPatch)
	api("/users/{id}/tokens", handleListTokens(d), http.MethodGet)
	api("/users/{id}/tokens", handleCreateToken(d), http.MethodPost)
	api("/tokens/{id}", handleRevokeToken(d), http.MethodDelete)
	api("/inboxes", handleListInboxes(d), http.MethodGet)
	api("/inboxes", handleCreateInbox(d), http.MethodPost)
	api("/channels", handleListChannels(d), http.MethodGet)
	api("/channels", handleCreateChannel(d), http.MethodPost)
	api("/channels/{id}", handlePatchChannel(d), http.MethodPatch)
	api("/channels/{id}", handleDeleteChannel(d), http.MethodDelete)

	api("/contacts", handleListContacts(d), http.MethodGet)
	api("/contacts", handleCreateContact(d), http.MethodPost)
	api("/contacts/{id}", handleGetContact(d), http.MethodGet)
	api("/contacts/{id}", handlePatchContact(d), http.MethodPatch)
	api("/contacts/{id}/conversations", handleContactConversations(d), http.MethodGet)

	api("/conversations", handleListConversations(d), http.MethodGet)
	api("/conversations/{id}", handleGetConversation(d), http.MethodGet)
	api("/conversations/{id}", handlePatchConversation(d), http.MethodPatch)
	api("/conversations/{id}/messages", handleListMessages(d), http.MethodGet)
	api("/conversations/{id}/messages", handleReply(d), http.MethodPost)
	api("/conversations/{id}/notes", handleNote(d), http.MethodPost)
	api("/conversations/{id}/events", handleListEvents(d), http.MethodGet)
	api("/conversations/{id}/assign", handleAssign(d), http.MethodPost)
	api("/conversations/{id}/record-opt-out", handleAnswerRevocation(d, conversations.RevocationOptedOut), http.MethodPost)
	api("/conversations/{id}/dismiss-revocation", handleAnswerRevocation(d, conversations.RevocationDismissed), http.MethodPost)
	for _, a := range []conversations.Action{conversations.ActionResolve, conversations.ActionReopen,
		conversations.ActionClose, conversations.ActionPending, conversations.ActionSnooze} {
		api("/conversations/{id}/"+string(a), handleStatusAction(d, a), http.MethodPost)
	}
	api("/conversations/{id}/links", handleListLinks(d), http.MethodGet)
	api("/conversations/{id}/links", handleLinkRecord(d), http.MethodPost)
	api("/conversations/{id}/links/{record_id}", handleUnlinkRecord(d), http.MethodDelete)
	api("/conversations/{id}/outcomes", handleListOutcomes(d), http.MethodGet)
	api("/conversations/{id}/outcomes", handleCreateOutcome(d), http.MethodPost)
	api("/conversations/{id}/suggestions", handleListSuggestions(d), http.MethodGet)
	api("/conversations/{id}/tags", handleTagConversation(d), http.MethodPost)
	api("/conversations/{id}/tags/{tag_id}", handleUntagConversation(d), http.MethodDelete)
	api("/conversations/{id}/episodes", handleListEpisodes(d), http.MethodGet)
	api("/outcomes/{id}", handleDeleteOutcome(d), http.MethodDelete)
	api("/suggestions/{id}/accept", handleAcceptSuggestion(d), http.MethodPost)
	api("/suggestions/{id}/dismiss", handleDismissSuggestion(d), http.MethodPost)
	api("/tags", handleListTags(d), http.MethodGet)
	api("/tags", handleCreateTag(d), http.MethodPost)
	api("/tags/{id}", handleGetTag(d), http.MethodGet)
	api("/tags/{id}", handlePatchTag(d), http.MethodPatch)
	api("/records", handleListRecords(d), http.MethodGet)
	api("/records/{id}", handleGetRecord(d), http.MethodGet)
	api("/records/{type}/{external_id:.+}", handlePutRecord(d), http.MethodPut) // an id may hold "/" (INV/2026/0001)
	api("/messages/preview", handlePreview(d), http.MethodPost)
	api("/quick-messages", handleQuickMessage(d), http.MethodPost)
	api("/campaigns", handleListCampaigns(d), http.MethodGet)
	api("/campaigns", handleCreateCampaign(d), http.MethodPost)
	api("/campaigns/{id}", handleGetCampaign(d), http.MethodGet)
	api("/campaigns/{id}/recipients", handleListRecipients(d), http.MethodGet)
	api("/campaigns/{id}/start", handleCampaignAction(d, campaigns.ActionStart), http.MethodPost)
	api("/campaigns/{id}/pause", handleCampaignAction(d, campaigns.ActionPause), http.MethodPost)
	api("/campaigns/{id}/resume", handleCampaignAction(d, campaigns.ActionResume), http.MethodPost)
	api("/campaigns/{id}/cancel", handleCampaignAction(d, campaigns.ActionCancel), http.MethodPost)
	api("/notifications", handleListNotifications(d), http.MethodGet)
	api("/notifications/{id}/read", handleReadNotification(d), http.MethodPost)
	// Live updates. Browsers' EventSource cannot set headers: when the web
	// inbox's session cookie exists, it authenticates this route as well
	// (the seam is authenticate, which every /v1 route goes through).
	api("/stream", handleStream(d), http.MethodGet)

	api("/routing-tables", handleListRoutingTables(d), http.MethodGet)
	api("/routing-tables", handleCreateRoutingTable(d), http.MethodPost)
	api("/routing-tables/{id}", handleGetRoutingTable(d), http.MethodGet)
	api("/routing-tables/{id}", handleReplaceRoutingTable(d), http.MethodPut)
	api("/routing-tables/{id}", handleDeleteRoutingTable(d), http.MethodDelete)
	api("/routing-tables/{id}/simulate", handleSimulate(d), http.MethodPost)
	api("/contact-types", handleListContactTypes(d), http.MethodGet)
	api("/contact-types", handleCreateContactType(d), http.MethodPost)
	api("/contact-types/{id}", handleGetContactType(d), http.MethodGet)
	api("/contact-types/{id}", handleUpdateContactType(d), http.MethodPut)

	api("/webhook-endpoints", handleListWebhookEndpoints(d), http.MethodGet)
	api("/webhook-endpoints", handleCreateWebhookEndpoint(d), http.MethodPost)
	api("/webhook-endpoints/{id}", handleGetWebhookEndpoint(d), http.MethodGet)
	api("/webhook-endpoints/{id}", handlePatchWebhookEndpoint(d), http.MethodPatch)
	api("/webhook-endpoints/{id}", handleDeleteWebhookEndpoint(d), http.MethodDelete)
	api("/webhook-endpoints/{id}/rotate-secret", handleRotateWebhookSecret(d), http.MethodPost)
	api("/webhook-endpoints/{id}/test", handleTestWebhookEndpoint(d), http.MethodPost)
	api("/webhook-endpoints/{id}/deliveries", handleListWebhookDeliveries(d), http.MethodGet)
	api("/webhook-endpoints/{id}/deliveries/{delivery_id}/retry", handleRetryWebhookDelivery(d), http.MethodPost)

	api("/reports/outcomes", handleOutcomesReport(d), http.MethodGet)
	api("/reports/outbound", handleOutboundReport(d), http.MethodGet)
	api("/reports/outbound/audit", handleOutboundAudit(d), http.MethodGet)
	api("/exports/{report}", handleExport(d), http.MethodGet)

	api("/optouts", handleGetOptOut(d), http.MethodGet)
	api("/optouts", handleCreateOptOut(d), http.MethodPost)
	api("/optouts/{phone}/events", handleOptOutEvents(d), http.MethodGet)
	// Everything else is the web inbox's; /v1 and /webhooks stay the API's
	// so that their unknown paths get the API's JSON 404.
	if d.Web != nil {
		r.MatcherFunc(notAPI).Handler(d.Web).Name("web")
	}
	return r
}

// apiFunc is a JSON API handler: it writes its answer, or returns an error
// that writeError turns into the API's error body.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

func (f apiFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := f(w, r); err != nil {
		writeError(w, r, err)
	}
}

// pathID parses the {id} path variable; a malformed id names nothing: 404.
func pathID(r *http.Request) (parley.ID, error) {
	return parley.ParseID(mux.Vars(r)["id"])
}

func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

func handleReadyz(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.Ready != nil {
			if err := d.Ready(r.Context()); err != nil {
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

func notAPI(r *http.Request, _ *mux.RouteMatch) bool {
	p := r.URL.Path
	return !strings.HasPrefix(p, "/v1/") && p != "/v1" && !strings.HasPrefix(p, "/webhooks/")
}
