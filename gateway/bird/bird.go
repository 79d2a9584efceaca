// Package bird is the Bird adapter (the new MessageBird, api.bird.com, its
// Channels API): its webhooks, signed with HMAC-SHA256 over the timestamp,
// the URL and the body's hash, and its REST API for sending, status checks
// and channel verification.
//
// Bird's SDKs are not served here (MessageBird's Go SDK speaks the legacy
// API and has been inactive since 2022), and what Parley needs is three
// JSON calls and one HMAC (crypto/hmac from the standard library), so it
// is plain net/http. New takes another API host for tests and the fake
// carrier (gateway/bird/birdtest).
//
// A channel's account is the Bird SMS channel (its id, a UUID), which is
// also the key in its webhook URLs; the auth token is a workspace access
// key, sent as "Authorization: AccessKey …"; the webhook secret is the
// signing key of the webhook subscription; options.workspace_id is the
// workspace the channel is installed in, which every API path names.
package bird

import (
	"strings"
	"time"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// DefaultAPIURL is Bird's API.
const DefaultAPIURL = "https://api.bird.com"

// DefaultTimeout bounds an API call.
const DefaultTimeout = carrier.DefaultTimeout

// MaxBodyBytes bounds a webhook body: one message with its parts and
// media references is a few kilobytes.
const MaxBodyBytes = 256 << 10

// OptionWorkspaceID is the channel option naming the Bird workspace.
const OptionWorkspaceID = "workspace_id"

// MinSigningKey is the shortest signing key Parley takes. Bird lets the
// admin choose the key when creating the webhook subscription, and it is
// all that keeps forged texts out, so a short one is refused.
const MinSigningKey = 16

// Adapter is Bird behind carrier.Adapter.
type Adapter struct {
	api *carrier.API
}

var _ carrier.Adapter = (*Adapter)(nil)

// New returns an adapter calling the API at apiURL ("" for Bird's), each
// call bounded by timeout (DefaultTimeout when 0).
func New(apiURL string, timeout time.Duration) *Adapter {
	return &Adapter{api: carrier.NewAPI("Bird", apiURL, DefaultAPIURL, timeout, refusal)}
}

// Name is "bird".
func (*Adapter) Name() string { return conversations.CarrierBird }

// MaxBodyBytes bounds a webhook's body.
func (*Adapter) MaxBodyBytes() int64 { return MaxBodyBytes }

// CheckChannel checks the channel id, the workspace, the signing key and
// that the channel is a number (a Bird SMS channel is one number; Bird has
// no messaging services as Twilio does). The ids are kept in lower case,
// as the webhook URLs and the API paths use them.
func (*Adapter) CheckChannel(c *conversations.Channel) map[string]string {
	bad := map[string]string{}
	if !carrier.IsUUID(c.CarrierAccountID) {
		bad["account_id"] = "must be the id of a Bird SMS channel (a UUID)"
	}
	c.CarrierAccountID = strings.ToLower(c.CarrierAccountID)
	if len(strings.TrimSpace(c.WebhookSecret)) < MinSigningKey {
		bad["webhook_secret"] = "is required: the signing key of the Bird webhook subscription, at least 16 characters"
	}
	if c.PhoneNumber == "" {
		bad["phone_number"] = "is required: a Bird SMS channel is one number"
	}
	if c.MessagingServiceSID != "" {
		bad["messaging_service_sid"] = "is Twilio's; a Bird channel is account_id"
	}
	opts := map[string]string{}
	for k, v := range c.Options {
		if k != OptionWorkspaceID {
			bad["options."+k] = "is not a Bird option"
			continue
		}
		opts[k] = strings.ToLower(v)
	}
	if !carrier.IsUUID(opts[OptionWorkspaceID]) {
		bad["options."+OptionWorkspaceID] = "is required: the id of the Bird workspace the channel is in (a UUID)"
	}
	c.Options = opts
	return bad
}
