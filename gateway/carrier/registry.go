package carrier

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
)

// Registry holds the adapters Parley speaks, by name. It is the
// dispatcher's Sender and StatusChecker and the channels' verifier: each
// call goes to the adapter of the text's or channel's carrier.
type Registry struct {
	publicURL string
	adapters  map[string]Adapter
}

var (
	_ campaigns.Sender              = (*Registry)(nil)
	_ campaigns.StatusChecker       = (*Registry)(nil)
	_ conversations.CarrierVerifier = (*Registry)(nil)
)

// NewRegistry returns a registry of the adapters for a Parley reached at
// publicURL, which is where carriers post status receipts.
func NewRegistry(publicURL string, adapters ...Adapter) *Registry {
	r := &Registry{publicURL: strings.TrimRight(publicURL, "/"), adapters: map[string]Adapter{}}
	for _, a := range adapters {
		r.adapters[a.Name()] = a
	}
	return r
}

// Adapter returns the named carrier's adapter.
func (r *Registry) Adapter(name string) (Adapter, bool) {
	a, ok := r.adapters[name]
	return a, ok
}

// Names lists the carriers, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.adapters))
	for n := range r.adapters {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (r *Registry) adapter(name string) (Adapter, error) {
	if a, ok := r.adapters[name]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("no adapter for carrier %q", name)
}

// Send hands t to its carrier, with the status URL of its channel when
// the dispatcher gave none.
func (r *Registry) Send(ctx context.Context, t campaigns.OutboundText) (campaigns.SendResult, error) {
	a, err := r.adapter(t.Carrier)
	if err != nil {
		return campaigns.SendResult{}, err
	}
	if t.StatusCallbackURL == "" {
		ch := conversations.Channel{Carrier: t.Carrier, CarrierAccountID: t.CarrierAccountID, Options: t.Options}
		_, t.StatusCallbackURL = ch.WebhookURLs(r.publicURL)
	}
	return a.Send(ctx, t)
}

// Lookup asks t's carrier for it (campaigns.Sender).
func (r *Registry) Lookup(ctx context.Context, t campaigns.OutboundText, since time.Time) (campaigns.SendResult, bool, error) {
	a, err := r.adapter(t.Carrier)
	if err != nil {
		return campaigns.SendResult{}, false, err
	}
	return a.Lookup(ctx, t, since)
}

// CheckStatus asks t's carrier for its status (campaigns.StatusChecker).
func (r *Registry) CheckStatus(ctx context.Context, t campaigns.OutboundText, carrierMessageID string) (campaigns.CarrierStatus, error) {
	a, err := r.adapter(t.Carrier)
	if err != nil {
		return campaigns.CarrierStatus{}, err
	}
	return a.CheckStatus(ctx, t, carrierMessageID)
}

// CheckChannel refuses a carrier Parley does not speak and has the
// carrier's adapter check the rest.
func (r *Registry) CheckChannel(c *conversations.Channel) map[string]string {
	a, ok := r.adapters[c.Carrier]
	if !ok {
		return map[string]string{"carrier": "must be one of " + strings.Join(r.Names(), ", ")}
	}
	return a.CheckChannel(c)
}

// VerifyChannel has the channel's carrier vouch for its credentials.
func (r *Registry) VerifyChannel(ctx context.Context, c conversations.Channel) error {
	a, ok := r.adapters[c.Carrier]
	if !ok {
		return conversations.CarrierUnavailable("Parley has no adapter for carrier %q", c.Carrier)
	}
	return a.VerifyChannel(ctx, c)
}
