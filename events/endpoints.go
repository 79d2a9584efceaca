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

// SendTest queues a webhook.test delivery to e.
func SendTest(ctx context.Context, s EndpointStore, e Endpoint, at time.Time) (Delivery, error) {
	return s.CreateTestDelivery(ctx, e.AccountID, e.ID, TestEnvelope(e.ID, at), at)
}
