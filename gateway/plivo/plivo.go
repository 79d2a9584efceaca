// Package plivo is the Plivo adapter: its form webhooks, signed with
// HMAC-SHA256 and a nonce (V2, over the URL alone, as messaging signs,
// its nonce then kept to the content by the gateway; or V3, over the URL
// and the posted parameters), and its Message API for sending, status
// checks and channel verification.
//
// Plivo's Go SDK is not served here, and Parley needs four calls and two
// HMACs (crypto/hmac), so it is plain net/http. PARLEY_PLIVO_API_URL
// replaces the API's host for tests and the fake carrier.
//
// A channel's account is the Plivo Auth ID (MA… for a main account, SA…
// for a subaccount); its auth token both sends and signs.
package plivo

import (
	"regexp"
	"strings"
	"time"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// DefaultAPIURL is Plivo's API.
const DefaultAPIURL = "https://api.plivo.com"

// DefaultTimeout bounds an API call.
const DefaultTimeout = carrier.DefaultTimeout

// MaxBodyBytes bounds a webhook body: Plivo's forms are a few hundred
// bytes, an MMS with its media a few kilobytes.
const MaxBodyBytes = 64 << 10

// Adapter is Plivo behind carrier.Adapter.
type Adapter struct {
	api *carrier.API
}

var _ carrier.Adapter = (*Adapter)(nil)

// New returns an adapter calling the API at apiURL ("" for Plivo's), each
// call bounded by timeout (DefaultTimeout when 0).
func New(apiURL string, timeout time.Duration) *Adapter {
	return &Adapter{api: carrier.NewAPI("Plivo", apiURL, DefaultAPIURL, timeout, refusal)}
}

// Name is "plivo".
func (*Adapter) Name() string { return conversations.CarrierPlivo }

// MaxBodyBytes bounds a webhook's body.
func (*Adapter) MaxBodyBytes() int64 { return MaxBodyBytes }

var authID = regexp.MustCompile(`^(MA|SA)[0-9A-Z]{18}$`)

// CheckChannel checks the Auth ID and that the channel is one number:
// Plivo signs with the auth token, so there is no webhook secret.
func (*Adapter) CheckChannel(c *conversations.Channel) map[string]string {
	bad := map[string]string{}
	if !authID.MatchString(c.CarrierAccountID) {
		bad["account_id"] = "must be a Plivo Auth ID (MA or SA followed by 18 letters and digits)"
	}
	if c.PhoneNumber == "" {
		bad["phone_number"] = "is required: a Plivo channel is one number"
	}
	if c.MessagingServiceSID != "" {
		bad["messaging_service_sid"] = "is Twilio's; a Plivo channel is one number"
	}
	if c.WebhookSecret != "" {
		bad["webhook_secret"] = "is not used by Plivo, which signs with the auth token"
	}
	if len(c.Options) > 0 {
		bad["options"] = "are not used by Plivo"
	}
	return bad
}

// e164 puts back the "+" Plivo leaves off its numbers.
func e164(n string) string {
	if n == "" || strings.HasPrefix(n, "+") {
		return n
	}
	return "+" + n
}
