// Package carrier is the one interface every carrier adapter implements
// (gateway/twilio, gateway/telnyx, …) and the Registry that picks the
// adapter of a channel's carrier for the webhooks, the dispatcher,
// reconciliation and channel verification.
//
// A webhook goes through an adapter in four steps, in this order: read
// the body and the ids that find its channel (nothing trusted yet),
// authenticate it with that channel's credentials over the public URL,
// parse it into inbound texts and status receipts, and acknowledge it in
// the carrier's format.
package carrier

import (
	"net/http"
	"time"

	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
)

// Adapter is one carrier.
type Adapter interface {
	// Name is the carrier's name in channels and webhook URLs.
	Name() string
	Webhooks
	campaigns.Sender
	campaigns.StatusChecker
	conversations.CarrierVerifier
}

// Kind says which of a carrier's webhook URLs was called.
type Kind string

// The webhook URLs of a channel: /webhooks/{carrier}/messages and
// /webhooks/{carrier}/status. Carriers that post both kinds to one URL
// are read by what the body says, not by the URL.
const (
	Messages Kind = "messages"
	Status   Kind = "status"
)

// Webhooks reads, authenticates and parses a carrier's webhooks.
type Webhooks interface {
	// MaxBodyBytes bounds a webhook's body: a larger one is refused
	// before any of it is read.
	MaxBodyBytes() int64
	// ReadWebhook reads a webhook's body, bounded, and the ids that find
	// its channel. Nothing in it is trusted until Authenticate passed.
	// A body that cannot be read or decoded is EMALFORMED (400) or
	// ETOOLARGE (413); one naming no channel Parley could have is
	// ENOTFOUND (404).
	ReadWebhook(r *http.Request, w *Webhook) error
	// Authenticate checks that w comes from the carrier account of ch,
	// with ch's credentials, over w.URL (never the request's Host): nil
	// when it does; EFORBIDDEN (403) for a missing, forged or stale
	// signature; EUNAUTHENTICATED (401) for missing or wrong basic-auth
	// credentials, the HTTP challenge a carrier answers.
	Authenticate(w *Webhook, ch conversations.Channel, now time.Time) error
	// Parse turns an authenticated webhook into what it reports. Bad
	// fields are one EINVALID (422).
	Parse(w *Webhook) (Report, error)
	// Acknowledge answers a webhook Parley took, as the carrier expects.
	Acknowledge(rw http.ResponseWriter, w *Webhook)
}

// ByGET is implemented by the adapters of carriers that can deliver
// webhooks by GET, their parameters in the query (Twilio, Plivo, Vonage's
// SMS API, by account setting). The others' URLs take POST only.
type ByGET interface {
	DeliversByGET()
}

// Webhook is one request of a carrier, as ReadWebhook found it.
type Webhook struct {
	Kind Kind
	// Method is the request's: a GET's parameters are in its URL.
	Method string
	// URL is the URL the carrier called: PARLEY_PUBLIC_URL and the
	// request's URI, what signatures cover.
	URL    string
	Header http.Header
	Body   []byte
	// Key is the URL's carrier account segment
	// (/webhooks/{carrier}/{key}/…), "" on URLs without one.
	Key string

	// What finds the channel: the carrier account, and for an inbound
	// text the business number it went to (E.164) or the messaging
	// service that took it.
	AccountID string
	To        string
	ServiceID string
	// Inbound: the webhook carries inbound texts; otherwise receipts.
	Inbound bool

	// Decoded is the adapter's own decoding of Body, kept for Parse.
	Decoded any

	// Nonce is set by Authenticate when the signature it passed covers a
	// nonce but not the content (Plivo's V2): the gateway then keeps the
	// nonce to that content (conversations.NonceStore) before taking
	// anything. Content is the SHA-256 of the URL and the decoded body.
	Nonce   string
	Content [32]byte
}

// Report is what a webhook says: texts that arrived and statuses of texts
// Parley sent. Some carriers batch several in one request.
type Report struct {
	Texts    []conversations.InboundText
	Statuses []Receipt
}

// Receipt is a carrier's status for a text it took from Parley.
type Receipt struct {
	CarrierMessageID string
	Status           conversations.MessageStatus
	ErrorCode        int // the carrier's code; 0 when none
	// Unsubscribed: the carrier failed the text because the recipient
	// opted out with it (Twilio 21610, Telnyx 40300); Parley records the
	// opt-out.
	Unsubscribed bool
}
