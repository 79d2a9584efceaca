package gateway

import (
	"net/http"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog/hlog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// maxWebhookBytes bounds a webhook body before its carrier is known; each
// carrier's own bound (carrier.Webhooks.MaxBodyBytes) is applied next.
const maxWebhookBytes = 1 << 20

// handleCarrierWebhook serves /webhooks/twilio/{messages|status} and
// /webhooks/{carrier}/{key}/{messages|status}.
// Order matters: the channel is found from the carrier's ids, the request
// is authenticated with that channel's credentials over the raw body, and
// only then is anything parsed into the domain or stored.
func handleCarrierWebhook(d *Deps, kind carrier.Kind) http.Handler {
	return apiFunc(func(w http.ResponseWriter, r *http.Request) error {
		vars := mux.Vars(r)
		name := vars["carrier"]
		if name == "" {
			name = conversations.CarrierTwilio // the one carrier whose URLs name no account
		}
		a, ok := d.Carriers.Adapter(name)
		if !ok {
			return parley.Errorf(parley.ENOTFOUND, "Parley speaks no carrier named %q", name)
		}
		if _, ok := a.(carrier.ByGET); r.Method == http.MethodGet && !ok {
			w.Header().Set("Allow", http.MethodPost)
			methodNotAllowed(w, r)
			return nil
		}
		limit := a.MaxBodyBytes()
		if r.ContentLength > limit {
			return parley.Errorf(parley.ETOOLARGE, "the request body is over %d bytes", limit)
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		hook := &carrier.Webhook{Kind: kind, Method: r.Method, URL: d.PublicURL + r.URL.RequestURI(), Header: r.Header, Key: vars["key"]}
		if err := a.ReadWebhook(r, hook); err != nil {
			return err
		}
		var err error
		if hook.Inbound {
			err = receiveTexts(d, r, a, hook)
		} else {
			err = receiveReceipts(d, r, a, hook)
		}
		if parley.IsKind(err, parley.EUNAUTHENTICATED) {
			// Basic auth's challenge (RFC 7235), for the carriers that use it.
			w.Header().Set("WWW-Authenticate", `Basic realm="Parley webhooks", charset="UTF-8"`)
		}
		if err != nil {
			return err
		}
		a.Acknowledge(w, hook)
		return nil
	})
}

// receiveTexts authenticates an inbound webhook with the channel of its
// first text and ingests each of its texts into its own channel's thread.
// A carrier that batches texts (Bandwidth) may name several numbers: each
// text's channel must accept the same request, or nothing is taken, so
// that one channel's credentials never speak for another's.
func receiveTexts(d *Deps, r *http.Request, a carrier.Adapter, hook *carrier.Webhook) error {
	route, err := d.Store.FindInboundRoute(r.Context(), a.Name(), hook.AccountID, hook.To, hook.ServiceID)
	if err != nil {
		if parley.IsKind(err, parley.ENOTFOUND) {
			return parley.Errorf(parley.ENOTFOUND, "no channel is connected for this carrier account and number or messaging service")
		}
		return err
	}
	if err := a.Authenticate(hook, route.Channel, d.Clock.Now()); err != nil {
		return err
	}
	report, err := a.Parse(hook)
	if err != nil {
		return err
	}
	routes := make([]conversations.InboundRoute, len(report.Texts))
	for i, text := range report.Texts {
		routes[i] = route
		if text.To == hook.To || hook.ServiceID != "" {
			continue
		}
		if routes[i], err = d.Store.FindInboundRoute(r.Context(), a.Name(), hook.AccountID, text.To, ""); err != nil {
			if parley.IsKind(err, parley.ENOTFOUND) {
				return parley.Errorf(parley.ENOTFOUND, "no channel is connected for %s on this carrier account: nothing of this request was taken", text.To)
			}
			return err
		}
		if routes[i].Channel.ID != route.Channel.ID {
			if err := a.Authenticate(hook, routes[i].Channel, d.Clock.Now()); err != nil {
				return err
			}
		}
	}
	if err := bindNonce(d, r, a, hook); err != nil {
		return err
	}
	for i, text := range report.Texts {
		res, err := d.Ingester.Ingest(r.Context(), routes[i], text)
		if err != nil {
			return err
		}
		hlog.FromRequest(r).Debug().Stringer("conversation_id", res.Conversation.ID).Bool("duplicate", res.Duplicate).Msg("inbound text")
		if res.Duplicate {
			noteOutcome(r, "duplicate")
		}
	}
	return nil
}

// receiveReceipts authenticates status receipts with the carrier
// account's channels (one per credential) and applies each to a text
// sent by the channel whose credentials passed.
func receiveReceipts(d *Deps, r *http.Request, a carrier.Adapter, hook *carrier.Webhook) error {
	chs, err := d.Store.StatusRoutes(r.Context(), a.Name(), hook.AccountID)
	if err != nil {
		if parley.IsKind(err, parley.ENOTFOUND) {
			return parley.Errorf(parley.ENOTFOUND, "no channel is connected for this carrier account")
		}
		return err
	}
	ch, err := authenticatedBy(a, hook, chs, d.Clock)
	if err != nil {
		return err
	}
	if err := bindNonce(d, r, a, hook); err != nil {
		return err
	}
	report, err := a.Parse(hook)
	if err != nil {
		return err
	}
	for _, rc := range report.Statuses {
		u := conversations.StatusUpdate{ChannelID: ch.ID, Carrier: a.Name(), CarrierAccountID: hook.AccountID,
			CarrierMessageID: rc.CarrierMessageID, Status: rc.Status, Unsubscribed: rc.Unsubscribed, At: d.Clock.Now()}
		if rc.ErrorCode != 0 {
			u.ErrorCode = &rc.ErrorCode
		}
		if _, err := d.Store.ApplyStatus(r.Context(), u); err != nil && !parley.IsKind(err, parley.ENOTFOUND) {
			return err
		} else if err != nil {
			// A text Parley did not send (or not yet recorded): nothing
			// to update, and the carrier must not retry.
			hlog.FromRequest(r).Info().Str("carrier_message_id", rc.CarrierMessageID).Msg("status receipt for an unknown message")
		}
	}
	return nil
}

// authenticatedBy returns the channel whose credentials authenticate the
// webhook, or the first channel's refusal; a refusal asking the carrier
// to send again (EUNAVAILABLE) wins over the others, so that it does.
// The store applies a receipt only to a text sent with those credentials.
func authenticatedBy(a carrier.Adapter, hook *carrier.Webhook, chs []conversations.Channel, clock parley.Clock) (conversations.Channel, error) {
	var first error = parley.Errorf(parley.EFORBIDDEN, "no channel's credentials authenticate this request")
	for i, ch := range chs {
		err := a.Authenticate(hook, ch, clock.Now())
		switch {
		case err == nil:
			return ch, nil
		case i == 0 || parley.IsKind(err, parley.EUNAVAILABLE) && !parley.IsKind(first, parley.EUNAVAILABLE):
			first = err
		}
	}
	return conversations.Channel{}, first
}

// bindNonce keeps the nonce of a signature that covers no content to the
// content it came with (carrier.Webhook.Nonce), before anything of the
// request is taken: the same nonce with other content is a forgery.
func bindNonce(d *Deps, r *http.Request, a carrier.Adapter, hook *carrier.Webhook) error {
	if hook.Nonce == "" {
		return nil
	}
	return d.Store.BindWebhookNonce(r.Context(), conversations.WebhookNonce{Carrier: a.Name(), CarrierAccountID: hook.AccountID,
		Nonce: hook.Nonce, Content: hook.Content, At: d.Clock.Now()})
}
