package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/events"
)

// Outbound webhook endpoints (API.md, "Live updates and outbound
// webhooks"): an admin's, each with the event types it takes. The secret
// is shown when it is made: at creation and at rotation.

type webhookEndpointJSON struct {
	ID          parley.ID `json:"id"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Description string    `json:"description"`
	Enabled     bool      `json:"enabled"`
	// Secret is set only in the answer that made it.
	Secret         string     `json:"secret,omitempty"`
	DisabledAt     *time.Time `json:"disabled_at"`
	DisabledReason *string    `json:"disabled_reason"`
	FailingSince   *time.Time `json:"failing_since"`
	// PreviousSecretExpiresAt: until then the secret before the last
	// rotation signs too.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
}

func toWebhookEndpointJSON(e events.Endpoint) webhookEndpointJSON {
	j := webhookEndpointJSON{ID: e.ID, URL: e.URL, Events: make([]string, len(e.Events)), Description: e.Description,
		Enabled: e.DisabledAt == nil, DisabledAt: e.DisabledAt, FailingSince: e.FailingSince, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	for i, t := range e.Events {
		j.Events[i] = string(t)
	}
	if e.DisabledAt != nil {
		j.DisabledReason = &e.DisabledReason
	}
	if e.PreviousSecret != "" {
		j.PreviousSecretExpiresAt = e.PreviousExpiresAt
	}
	return j
}

// withSecret is the endpoint's JSON with its secret: only in the answer
// that made the secret.
func withSecret(e events.Endpoint) webhookEndpointJSON {
	j := toWebhookEndpointJSON(e)
	j.Secret = e.Secret
	return j
}

func handleCreateWebhookEndpoint(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireAdmin(r); err != nil {
			return err
		}
		var in struct {
			URL         string   `json:"url"`
			Events      []string `json:"events"`
			Description string   `json:"description"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		e, err := events.CreateEndpoint(r.Context(), d.Webhooks, d.WebhookGuard, currentUser(r).AccountID, in.URL, in.Events, in.Description, d.Clock.Now())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, withSecret(e))
		return nil
	}
}

func handleListWebhookEndpoints(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireAdmin(r); err != nil {
			return err
		}
		page, err := pageFrom(r)
		if err != nil {
			return err
		}
		eps, next, err := d.Webhooks.ListWebhookEndpoints(r.Context(), currentUser(r).AccountID, page)
		if err != nil {
			return err
		}
		writePage(w, eps, next, toWebhookEndpointJSON)
		return nil
	}
}

// adminEndpoint reads the {id} endpoint of the admin's account.
func adminEndpoint(d *Deps, r *http.Request) (events.Endpoint, error) {
	if err := requireAdmin(r); err != nil {
		return events.Endpoint{}, err
	}
	id, err := pathID(r)
	if err != nil {
		return events.Endpoint{}, err
	}
	return d.Webhooks.GetWebhookEndpoint(r.Context(), currentUser(r).AccountID, id)
}

func handleGetWebhookEndpoint(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		e, err := adminEndpoint(d, r)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toWebhookEndpointJSON(e))
		return nil
	}
}

func handlePatchWebhookEndpoint(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		e, err := adminEndpoint(d, r)
		if err != nil {
			return err
		}
		var in struct {
			URL         *string  `json:"url"`
			Events      []string `json:"events"`
			Description *string  `json:"description"`
			Enabled     *bool    `json:"enabled"`
		}
		keys, err := decodeWithKeys(w, r, &in)
		if err != nil {
			return err
		}
		if keys["events"] && in.Events == nil {
			in.Events = []string{} // null names no event: refused as empty
		}
		patch := events.EndpointPatch{URL: in.URL, Events: in.Events, Description: in.Description, Enabled: in.Enabled}
		if e, err = events.ChangeEndpoint(r.Context(), d.Webhooks, d.WebhookGuard, e, patch, d.Clock.Now()); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toWebhookEndpointJSON(e))
		return nil
	}
}

func handleRotateWebhookSecret(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		e, err := adminEndpoint(d, r)
		if err != nil {
			return err
		}
		if err := decodeOptional(w, r); err != nil {
			return err
		}
		if e, err = events.RotateSecret(r.Context(), d.Webhooks, e, d.Clock.Now()); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, withSecret(e))
		return nil
	}
}

func handleDeleteWebhookEndpoint(d *Deps) apiFunc {
	return adminDelete(func(ctx context.Context, accountID, id parley.ID) error {
		return d.Webhooks.DeleteWebhookEndpoint(ctx, accountID, id)
	})
}

type webhookDeliveryJSON struct {
	ID            parley.ID  `json:"id"`
	EndpointID    parley.ID  `json:"endpoint_id"`
	EventType     string     `json:"event_type"`
	EventID       *string    `json:"event_id"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	StatusCode    *int       `json:"status_code"`
	LatencyMS     *int64     `json:"latency_ms"`
	Error         *string    `json:"error"`
	// ResponseExcerpt is the start (≤ 1 KiB) of the last answer's body.
	ResponseExcerpt *string    `json:"response_excerpt"`
	DeliveredAt     *time.Time `json:"delivered_at"`
	CreatedAt       time.Time  `json:"created_at"`
}

func toWebhookDeliveryJSON(dl events.Delivery) webhookDeliveryJSON {
	j := webhookDeliveryJSON{ID: dl.ID, EndpointID: dl.EndpointID, EventType: string(dl.EventType), State: string(dl.State),
		Attempts: dl.Attempts, LastAttemptAt: dl.LastAttemptAt, DeliveredAt: dl.DeliveredAt, CreatedAt: dl.CreatedAt}
	if dl.EventSeq > 0 {
		id := parley.ID(dl.EventSeq).String()
		j.EventID = &id
	}
	if dl.State == events.DeliveryPending {
		j.NextAttemptAt = &dl.NextAttemptAt
	}
	if dl.Attempts > 0 {
		ms := dl.LastLatency.Milliseconds()
		j.LatencyMS, j.Error, j.ResponseExcerpt = &ms, &dl.LastError, &dl.LastExcerpt
		if dl.LastStatus != 0 {
			j.StatusCode = &dl.LastStatus
		}
	}
	return j
}

func handleListWebhookDeliveries(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		e, err := adminEndpoint(d, r)
		if err != nil {
			return err
		}
		page, err := pageFrom(r)
		if err != nil {
			return err
		}
		ds, next, err := d.Webhooks.ListWebhookDeliveries(r.Context(), e.AccountID, e.ID, page)
		if err != nil {
			return err
		}
		writePage(w, ds, next, toWebhookDeliveryJSON)
		return nil
	}
}

func handleRetryWebhookDelivery(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		e, err := adminEndpoint(d, r)
		if err != nil {
			return err
		}
		deliveryID, err := parley.ParseID(mux.Vars(r)["delivery_id"])
		if err != nil {
			return err
		}
		if err := decodeOptional(w, r); err != nil {
			return err
		}
		dl, err := events.RetryDelivery(r.Context(), d.Webhooks, e, deliveryID, d.Clock.Now())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusAccepted, toWebhookDeliveryJSON(dl))
		return nil
	}
}

func handleTestWebhookEndpoint(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		e, err := adminEndpoint(d, r)
		if err != nil {
			return err
		}
		if err := decodeOptional(w, r); err != nil {
			return err
		}
		dl, err := events.SendTest(r.Context(), d.Webhooks, e, d.Clock.Now())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusAccepted, toWebhookDeliveryJSON(dl))
		return nil
	}
}
