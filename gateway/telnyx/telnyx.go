// Package telnyx is the Telnyx adapter (Messaging API v2): its webhooks,
// signed with Ed25519 over "timestamp|body", and its REST API for
// sending, status checks and channel verification.
//
// Telnyx's Go SDK is not served here, and what Parley needs is four JSON
// calls and one signature check (crypto/ed25519 from the standard
// library), so it is plain net/http. PARLEY_TELNYX_API_URL replaces the
// API's host for tests and the fake carrier.
//
// A channel's account is a Telnyx messaging profile (its id, a UUID); the
// auth token is an API key, sent as a bearer token; the webhook secret is
// the account's Ed25519 public key (base64, from the portal's "Keys &
// Credentials").
package telnyx

import (
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"time"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// DefaultAPIURL is Telnyx's API.
const DefaultAPIURL = "https://api.telnyx.com"

// DefaultTimeout bounds an API call.
const DefaultTimeout = carrier.DefaultTimeout

// MaxBodyBytes bounds a webhook body: an event with its media list is a
// few kilobytes.
const MaxBodyBytes = 256 << 10

// Adapter is Telnyx behind carrier.Adapter.
type Adapter struct {
	api *carrier.API
}

var _ carrier.Adapter = (*Adapter)(nil)

// New returns an adapter calling the API at apiURL ("" for Telnyx's),
// each call bounded by timeout (DefaultTimeout when 0).
func New(apiURL string, timeout time.Duration) *Adapter {
	return &Adapter{api: carrier.NewAPI("Telnyx", apiURL, DefaultAPIURL, timeout, refusal)}
}

// Name is "telnyx".
func (*Adapter) Name() string { return conversations.CarrierTelnyx }

// MaxBodyBytes bounds a webhook's body.
func (*Adapter) MaxBodyBytes() int64 { return MaxBodyBytes }

// CheckChannel checks the messaging profile id, the public key and that
// the channel is a number (Telnyx has no messaging services as Twilio
// does: a profile is the pool).
func (*Adapter) CheckChannel(c *conversations.Channel) map[string]string {
	bad := map[string]string{}
	if !carrier.IsUUID(c.CarrierAccountID) {
		bad["account_id"] = "must be the id of a Telnyx messaging profile (a UUID)"
	}
	c.CarrierAccountID = strings.ToLower(c.CarrierAccountID)
	if _, err := publicKey(c.WebhookSecret); err != nil {
		bad["webhook_secret"] = "must be the Telnyx account's public key: " + err.Error()
	}
	if c.PhoneNumber == "" {
		bad["phone_number"] = "is required: a Telnyx channel is one number"
	}
	if c.MessagingServiceSID != "" {
		bad["messaging_service_sid"] = "is Twilio's; a Telnyx number's messaging profile is account_id"
	}
	if len(c.Options) > 0 {
		bad["options"] = "are not used by Telnyx"
	}
	return bad
}

// publicKey decodes an account's public key: base64 of 32 bytes.
func publicKey(b64 string) (ed25519.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, errNotBase64
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, errKeySize
	}
	return ed25519.PublicKey(raw), nil
}
