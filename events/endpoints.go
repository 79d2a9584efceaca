package events

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
)

// What an admin does to webhook endpoints, whether through the JSON API
// or the web settings: each checks what it must and saves the result.

// CreateEndpoint validates a new endpoint, lets the guard vet its URL and
// saves it; the result carries the secret, to be shown this once.
func CreateEndpoint(ctx context.Context, s EndpointStore, g *Guard, accountID parley.ID, rawURL string, types []string, description string, at time.Time) (Endpoint, error) {
	e, err := NewEndpoint(accountID, rawURL, types, description, at)
	if err != nil {
		return Endpoint{}, err
	}
	if err := g.CheckURL(ctx, e.URL); err != nil {
		return Endpoint{}, err
	}
	return s.CreateWebhookEndpoint(ctx, e)
}

// ChangeEndpoint applies a patch to e, lets the guard vet a new URL, and
// saves it.
func ChangeEndpoint(ctx context.Context, s EndpointStore, g *Guard, e Endpoint, p EndpointPatch, at time.Time) (Endpoint, error) {
	changed, err := e.Apply(p, at)
	if err != nil {
		return Endpoint{}, err
	}
	if p.URL != nil {
		if err := g.CheckURL(ctx, changed.URL); err != nil {
			return Endpoint{}, err
		}
	}
	return s.UpdateWebhookEndpoint(ctx, changed)
}

// RotateSecret gives e a new secret and saves it; the result carries the
// new secret, to be shown this once.
func RotateSecret(ctx context.Context, s EndpointStore, e Endpoint, at time.Time) (Endpoint, error) {
	return s.UpdateWebhookEndpoint(ctx, e.Rotate(at))
}

// RetryDelivery makes one of e's deliveries pending and due at once. A
// disabled endpoint is sent nothing, so a retry there would only look
// queued until someone enabled it: it is refused (409
// webhook_endpoint_disabled) and nothing changes. An endpoint disabled
// after e was read is no different: the retry came first.
func RetryDelivery(ctx context.Context, s EndpointStore, e Endpoint, deliveryID parley.ID, at time.Time) (Delivery, error) {
	if e.DisabledAt != nil {
		why := ""
		if e.DisabledReason != "" {
			why = " (" + e.DisabledReason + ")"
		}
		return Delivery{}, parley.Conflict("webhook_endpoint_disabled",
			"the webhook endpoint is disabled%s and is sent nothing; enable it first, then retry the delivery", why)
	}
	return s.RetryWebhookDelivery(ctx, e.AccountID, e.ID, deliveryID, at)
}

// SendTest queues a webhook.test delivery to e.
func SendTest(ctx context.Context, s EndpointStore, e Endpoint, at time.Time) (Delivery, error) {
	return s.CreateTestDelivery(ctx, e.AccountID, e.ID, TestEnvelope(e.ID, at), at)
}
