package events_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/events"
)

// retryStore records the retries it is asked for.
type retryStore struct {
	events.EndpointStore
	retried []parley.ID
}

func (s *retryStore) RetryWebhookDelivery(_ context.Context, _, _, deliveryID parley.ID, at time.Time) (events.Delivery, error) {
	s.retried = append(s.retried, deliveryID)
	return events.Delivery{ID: deliveryID, State: events.DeliveryPending, NextAttemptAt: at}, nil
}

// TestRetryOnADisabledEndpointIsRefused: a disabled endpoint is sent
// nothing, so retrying one of its deliveries is a 409 that changes
// nothing rather than a "pending" that never goes out; enabled, the
// delivery is due at once.
func TestRetryOnADisabledEndpointIsRefused(t *testing.T) {
	s := &retryStore{}
	off := t0.Add(-time.Hour)
	disabled := events.Endpoint{ID: 3, AccountID: 1, DisabledAt: &off, DisabledReason: events.DisabledGone}
	_, err := events.RetryDelivery(context.Background(), s, disabled, 9, t0)
	var pe *parley.Error
	if !errors.As(err, &pe) || pe.Kind != parley.ECONFLICT || pe.Code != "webhook_endpoint_disabled" || len(s.retried) != 0 {
		t.Fatalf("retry on a disabled endpoint: %v, store asked %v; want 409 webhook_endpoint_disabled and nothing asked", err, s.retried)
	}
	enabled := disabled
	enabled.DisabledAt, enabled.DisabledReason = nil, ""
	d, err := events.RetryDelivery(context.Background(), s, enabled, 9, t0)
	if err != nil || d.State != events.DeliveryPending || !d.NextAttemptAt.Equal(t0) || len(s.retried) != 1 {
		t.Fatalf("retry on an enabled endpoint: %+v, %v", d, err)
	}
}
