package web

import (
	"net/http"
	"slices"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/events"
)

// Outbound webhooks: an admin's endpoints, the events each takes, and
// each one's delivery log. A secret is shown once, in the answer to the
// form that made it (creation, rotation): those two forms are posted
// plainly, never in the background, so the page that shows it is the
// answer itself and nothing keeps it.

type webhooksData struct {
	Endpoints []endpointView
	Next      string
	Types     []events.Type
	// Form is the new endpoint's form, as typed when it was refused.
	Form  webhookForm
	Error string
	// Secret is the one just made, shown this once.
	Secret *events.Endpoint
}

type webhookForm struct {
	URL, Description string
	Events           []string
}

// Has reports whether the form has event type t ticked.
func (f webhookForm) Has(t events.Type) bool { return slices.Contains(f.Events, string(t)) }

// endpointView is an endpoint as the pages show it.
type endpointView struct{ events.Endpoint }

// Enabled reports whether the endpoint takes deliveries.
func (e endpointView) Enabled() bool { return e.DisabledAt == nil }

// Has reports whether the endpoint takes event type t.
func (e endpointView) Has(t events.Type) bool { return slices.Contains(e.Events, t) }

// DisabledWhy says who or what disabled the endpoint.
func (e endpointView) DisabledWhy() string {
	switch e.DisabledReason {
	case events.DisabledByAdmin:
		return "disabled by an admin"
	case events.DisabledGone:
		return "disabled: it answered 410 Gone"
	case events.DisabledFailing:
		return "disabled: every attempt failed for 5 days"
	}
	return "disabled"
}

type webhookData struct {
	Endpoint   endpointView
	Types      []events.Type
	Deliveries []deliveryView
	Next       string
	// Secret is the one just made by a rotation, shown this once.
	Secret *events.Endpoint
}

// deliveryView is a delivery as the log shows it.
type deliveryView struct{ events.Delivery }

// Pending reports whether the delivery will be tried again by itself.
func (d deliveryView) Pending() bool { return d.State == events.DeliveryPending }

// Failed reports whether the last attempt failed: the delivery gave up,
// or waits to be tried again.
func (d deliveryView) Failed() bool {
	return d.State == events.DeliveryFailed || (d.State == events.DeliveryPending && d.Attempts > 0)
}

// LatencyMS is how long the last attempt took.
func (d deliveryView) LatencyMS() int64 { return d.LastLatency.Milliseconds() }

// guard is the webhook URL guard (the strict one when none was given).
func (s *Server) guard() *events.Guard {
	if s.d.Guard == nil {
		return &events.Guard{}
	}
	return s.d.Guard
}

func (s *Server) loadWebhooks(r *http.Request) (webhooksData, error) {
	data := webhooksData{Types: events.PublicTypes}
	page := parley.Page{Cursor: r.URL.Query().Get("cursor")}.Normalize()
	eps, next, err := s.d.Webhooks.ListWebhookEndpoints(r.Context(), me(r).AccountID, page)
	for _, e := range eps {
		data.Endpoints = append(data.Endpoints, endpointView{e})
	}
	data.Next = next
	return data, err
}

func (s *Server) webhooks(w http.ResponseWriter, r *http.Request) error {
	data, err := s.loadWebhooks(r)
	if err != nil {
		return err
	}
	return s.render(w, r, "settings_webhooks", "Webhooks", data)
}

// createWebhook makes an endpoint and answers with the list and its
// secret, or with the form as typed and what is wrong with it.
func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	form := webhookForm{URL: r.PostFormValue("url"), Description: r.PostFormValue("description"), Events: r.PostForm["events"]}
	e, err := events.CreateEndpoint(r.Context(), s.d.Webhooks, s.guard(), me(r).AccountID, form.URL, form.Events, form.Description, s.d.Clock.Now())
	if err != nil && !isShown(err) {
		return err
	}
	data, lerr := s.loadWebhooks(r)
	if lerr != nil {
		return lerr
	}
	if err != nil {
		data.Form, data.Error = form, errorText(err)
		return s.renderStatus(w, r, errorStatus(err), "settings_webhooks", "Webhooks", data)
	}
	data.Secret = &e
	return s.render(w, r, "settings_webhooks", "Webhooks", data)
}

// endpoint reads the {id} endpoint of the admin's account.
func (s *Server) endpoint(r *http.Request) (events.Endpoint, error) {
	id, err := varID(r, "id")
	if err != nil {
		return events.Endpoint{}, err
	}
	return s.d.Webhooks.GetWebhookEndpoint(r.Context(), me(r).AccountID, id)
}

// webhook is an endpoint's page: its settings and its delivery log.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) error {
	e, err := s.endpoint(r)
	if err != nil {
		return err
	}
	return s.renderWebhook(w, r, e, nil)
}

func (s *Server) renderWebhook(w http.ResponseWriter, r *http.Request, e events.Endpoint, secret *events.Endpoint) error {
	page := parley.Page{Cursor: r.URL.Query().Get("cursor")}.Normalize()
	ds, next, err := s.d.Webhooks.ListWebhookDeliveries(r.Context(), e.AccountID, e.ID, page)
	if err != nil {
		return err
	}
	data := webhookData{Endpoint: endpointView{e}, Types: events.PublicTypes, Next: next, Secret: secret}
	for _, d := range ds {
		data.Deliveries = append(data.Deliveries, deliveryView{d})
	}
	return s.render(w, r, "settings_webhooks_endpoint", "Webhook "+e.URL, data)
}

// onEndpoint makes a handler of a form about the {id} endpoint: act does
// what it asks and says where to go after.
func (s *Server) onEndpoint(act func(r *http.Request, e events.Endpoint) (string, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		e, err := s.endpoint(r)
		if err != nil {
			return err
		}
		next, err := act(r, e)
		if err != nil {
			return err
		}
		return done(w, r, next)
	}
}

// changeWebhook saves an endpoint's URL, events and description.
func (s *Server) changeWebhook(r *http.Request, e events.Endpoint) (string, error) {
	url, description := r.PostFormValue("url"), r.PostFormValue("description")
	types := r.PostForm["events"]
	if types == nil {
		types = []string{} // none ticked: refused as naming no event
	}
	p := events.EndpointPatch{URL: &url, Events: types, Description: &description}
	_, err := events.ChangeEndpoint(r.Context(), s.d.Webhooks, s.guard(), e, p, s.d.Clock.Now())
	return "/settings/webhooks/" + e.ID.String(), err
}

// enableWebhook enables or disables an endpoint (enabled=true|false) and
// goes back to the form's page.
func (s *Server) enableWebhook(r *http.Request, e events.Endpoint) (string, error) {
	on := r.PostFormValue("enabled") == "true"
	_, err := events.ChangeEndpoint(r.Context(), s.d.Webhooks, s.guard(), e, events.EndpointPatch{Enabled: &on}, s.d.Clock.Now())
	return "", err
}

// testWebhook queues a test event and goes to the delivery log.
func (s *Server) testWebhook(r *http.Request, e events.Endpoint) (string, error) {
	_, err := events.SendTest(r.Context(), s.d.Webhooks, e, s.d.Clock.Now())
	return "/settings/webhooks/" + e.ID.String(), err
}

func (s *Server) deleteWebhook(r *http.Request, e events.Endpoint) (string, error) {
	return "/settings/webhooks", s.d.Webhooks.DeleteWebhookEndpoint(r.Context(), e.AccountID, e.ID)
}

// retryWebhookDelivery makes a delivery due at once.
func (s *Server) retryWebhookDelivery(r *http.Request, e events.Endpoint) (string, error) {
	id, err := varID(r, "delivery")
	if err != nil {
		return "", err
	}
	_, err = events.RetryDelivery(r.Context(), s.d.Webhooks, e, id, s.d.Clock.Now())
	return "/settings/webhooks/" + e.ID.String(), err
}

// rotateWebhookSecret gives an endpoint a new secret and answers with its
// page showing it, once.
func (s *Server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	e, err := s.endpoint(r)
	if err != nil {
		return err
	}
	if e, err = events.RotateSecret(r.Context(), s.d.Webhooks, e, s.d.Clock.Now()); err != nil {
		return err
	}
	return s.renderWebhook(w, r, e, &e)
}
