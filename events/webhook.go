package events

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// TestType is the type of the event "send test event" delivers. It is no
// change of the account: it is never logged, streamed or subscribed to.
const TestType Type = "webhook.test"

// AllTypes, in an endpoint's events, subscribes it to every public type
// there is when it is saved (stored expanded, so a type added in a later
// version is not sent to integrations that never asked for it).
const AllTypes = "*"

// Why an endpoint was disabled by Parley rather than by an admin.
const (
	DisabledByAdmin  = "disabled_by_admin"
	DisabledGone     = "endpoint_gone"    // it answered 410 Gone
	DisabledFailing  = "failing_too_long" // FailingFor without a success
	disabledReasonOK = ""
)

// FailingFor is how long an endpoint may fail every attempt before it is
// disabled and the account's admins are told.
const FailingFor = 5 * 24 * time.Hour

// DeliveryLogRetention is how long finished deliveries stay in an
// endpoint's delivery log.
const DeliveryLogRetention = 30 * 24 * time.Hour

// RotationOverlap is how long the previous secret keeps signing after a
// rotation, so a receiver can switch secrets without losing deliveries.
const RotationOverlap = 24 * time.Hour

// Endpoint is an admin's webhook receiver and the event types it takes.
type Endpoint struct {
	ID          parley.ID
	AccountID   parley.ID
	URL         string
	Description string
	Events      []Type
	// Secret signs every delivery; PreviousSecret signs too until
	// PreviousExpiresAt, after a rotation.
	Secret            string
	PreviousSecret    string
	PreviousExpiresAt *time.Time
	// DisabledAt is set while the endpoint takes no deliveries;
	// DisabledReason says who or what disabled it.
	DisabledAt     *time.Time
	DisabledReason string
	// FailingSince is the first failure after the last success.
	FailingSince *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Secrets are the secrets that sign a delivery at t: the current one,
// then the previous one while the rotation overlaps.
func (e Endpoint) Secrets(t time.Time) []string {
	s := []string{e.Secret}
	if e.PreviousSecret != "" && e.PreviousExpiresAt != nil && t.Before(*e.PreviousExpiresAt) {
		s = append(s, e.PreviousSecret)
	}
	return s
}

// EndpointPatch is a PATCH of an endpoint: nil fields stay.
type EndpointPatch struct {
	URL         *string
	Events      []string
	Description *string
	Enabled     *bool
}

// maxDescription bounds an endpoint's description.
const maxDescription = 500

// NewEndpoint validates a new endpoint and gives it a secret.
func NewEndpoint(accountID parley.ID, rawURL string, types []string, description string, at time.Time) (Endpoint, error) {
	e := Endpoint{AccountID: accountID, Description: description, Secret: NewSecret(), CreatedAt: at, UpdatedAt: at}
	fields := map[string]string{}
	var err error
	if e.URL, err = checkURL(rawURL); err != nil {
		fields["url"] = err.Error()
	}
	if e.Events, err = subscribedTypes(types); err != nil {
		fields["events"] = err.Error()
	}
	if len([]rune(description)) > maxDescription {
		fields["description"] = "must be at most 500 characters"
	}
	if len(fields) > 0 {
		return Endpoint{}, parley.Invalid(fields)
	}
	return e, nil
}

// Apply returns the endpoint changed by p. Enabling a disabled endpoint
// clears its disabled and failing state: the admin says it works again.
func (e Endpoint) Apply(p EndpointPatch, at time.Time) (Endpoint, error) {
	fields := map[string]string{}
	if p.URL != nil {
		u, err := checkURL(*p.URL)
		if err != nil {
			fields["url"] = err.Error()
		}
		e.URL = u
	}
	if p.Events != nil {
		types, err := subscribedTypes(p.Events)
		if err != nil {
			fields["events"] = err.Error()
		}
		e.Events = types
	}
	if p.Description != nil {
		if len([]rune(*p.Description)) > maxDescription {
			fields["description"] = "must be at most 500 characters"
		}
		e.Description = *p.Description
	}
	if len(fields) > 0 {
		return Endpoint{}, parley.Invalid(fields)
	}
	if p.Enabled != nil {
		switch {
		case *p.Enabled && e.DisabledAt != nil:
			e.DisabledAt, e.DisabledReason, e.FailingSince = nil, disabledReasonOK, nil
		case !*p.Enabled && e.DisabledAt == nil:
			e.DisabledAt, e.DisabledReason = &at, DisabledByAdmin
		}
	}
	e.UpdatedAt = at
	return e, nil
}

// Rotate gives the endpoint a new secret; the current one keeps signing
// for RotationOverlap.
func (e Endpoint) Rotate(at time.Time) Endpoint {
	until := at.Add(RotationOverlap)
	e.PreviousSecret, e.PreviousExpiresAt = e.Secret, &until
	e.Secret, e.UpdatedAt = NewSecret(), at
	return e
}

// NewSecret is a Standard Webhooks secret: "whsec_" and the base64 of 32
// random bytes, the HMAC key.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// checkURL accepts an absolute http(s) URL with a host and no
// credentials (a secret in a URL ends up in logs). Where it may point is
// the Guard's to decide.
func checkURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return "", fieldError("is required")
	case err != nil:
		return "", fieldError("must be a valid URL")
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fieldError("must be an https:// or http:// URL")
	case u.User != nil:
		return "", fieldError("must not carry credentials; authenticate the request by its signature")
	case u.Hostname() == "":
		return "", fieldError("must name a host")
	case u.Fragment != "":
		return "", fieldError("must not have a fragment")
	case len(raw) > 2000:
		return "", fieldError("must be at most 2000 characters")
	}
	return u.String(), nil
}

// subscribedTypes checks an endpoint's events: public types, or "*" for
// all of them; in PublicTypes' order, without repeats.
func subscribedTypes(in []string) ([]Type, error) {
	if len(in) == 0 {
		return nil, fieldError("must name at least one event type, or \"*\" for all")
	}
	want := map[Type]bool{}
	for _, s := range in {
		if s == AllTypes {
			for _, t := range PublicTypes {
				want[t] = true
			}
			continue
		}
		if !Type(s).Public() {
			return nil, fieldError("has " + quote(s) + ", which is not an event type; use " + typeList() + " or \"*\"")
		}
		want[Type(s)] = true
	}
	var out []Type
	for _, t := range PublicTypes {
		if want[t] {
			out = append(out, t)
		}
	}
	return out, nil
}

func typeList() string {
	names := make([]string, len(PublicTypes))
	for i, t := range PublicTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

func quote(s string) string { return `"` + s + `"` }

// fieldError is the reason given for one invalid field.
type fieldError string

func (e fieldError) Error() string { return string(e) }

// Delivery is one event sent, or to be sent, to one endpoint.
type Delivery struct {
	ID         parley.ID
	AccountID  parley.ID
	EndpointID parley.ID
	EventSeq   int64
	EventType  Type
	State      DeliveryState
	Attempts   int
	// NextAttemptAt is when a pending delivery is due.
	NextAttemptAt time.Time
	// Body is what is sent: rendered at the first attempt and sent the same
	// after. Nil until then.
	Body []byte
	// What the last attempt got.
	LastStatus    int
	LastLatency   time.Duration
	LastError     string
	LastExcerpt   string
	LastAttemptAt *time.Time
	DeliveredAt   *time.Time
	CreatedAt     time.Time
}

// DeliveryState is where a delivery is.
type DeliveryState string

// Delivery states.
const (
	DeliveryPending   DeliveryState = "pending"
	DeliverySucceeded DeliveryState = "succeeded"
	DeliveryFailed    DeliveryState = "failed"
)

// MessageID is the delivery's webhook-id: the same on every attempt, so a
// receiver can drop the repeats that at-least-once delivery makes.
func (d Delivery) MessageID() string { return "msg_" + d.ID.String() }

// EndpointStore keeps endpoints and their deliveries. Methods taking an
// account's id return ENOTFOUND for another account's endpoint.
type EndpointStore interface {
	CreateWebhookEndpoint(ctx context.Context, e Endpoint) (Endpoint, error)
	GetWebhookEndpoint(ctx context.Context, accountID, id parley.ID) (Endpoint, error)
	ListWebhookEndpoints(ctx context.Context, accountID parley.ID, page parley.Page) ([]Endpoint, string, error)
	// UpdateWebhookEndpoint saves e's url, description, events, secrets
	// and disabled state.
	UpdateWebhookEndpoint(ctx context.Context, e Endpoint) (Endpoint, error)
	DeleteWebhookEndpoint(ctx context.Context, accountID, id parley.ID) error
	ListWebhookDeliveries(ctx context.Context, accountID, endpointID parley.ID, page parley.Page) ([]Delivery, string, error)
	// RetryWebhookDelivery makes a delivery due at once, whatever its
	// state (RetryDelivery checks the endpoint first).
	RetryWebhookDelivery(ctx context.Context, accountID, endpointID, deliveryID parley.ID, at time.Time) (Delivery, error)
	// CreateTestDelivery queues a webhook.test delivery with its body.
	CreateTestDelivery(ctx context.Context, accountID, endpointID parley.ID, body []byte, at time.Time) (Delivery, error)
}
