// Package bandwidth is the Bandwidth adapter (Messaging API v2): its
// callbacks, which carry no signature, and its API for sending, status
// checks and credential checks.
//
// Bandwidth authenticates its callbacks with HTTP basic auth only, so
// Parley also puts an unguessable token in each channel's webhook URLs:
// a request needs both. That is weaker than a signature (nothing ties the
// body to the sender, and the token travels in the URL), which the API and
// the settings page say.
//
// Bandwidth's SDK is not served here, and Parley needs three JSON calls,
// so it is plain net/http. PARLEY_BANDWIDTH_API_URL replaces the API's
// host for tests and the fake carrier.
package bandwidth

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"time"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// DefaultAPIURL is Bandwidth's messaging API.
const DefaultAPIURL = "https://messaging.bandwidth.com"

// DefaultTimeout bounds an API call.
const DefaultTimeout = carrier.DefaultTimeout

// MaxBodyBytes bounds a callback body: an array of events, each a few
// hundred bytes.
const MaxBodyBytes = 256 << 10

// The channel options Bandwidth needs.
const (
	OptionApplicationID   = "application_id"                 // the messaging application the number is on
	OptionAPIUsername     = "api_username"                   // the API user Parley sends as (auth_token is its password)
	OptionWebhookUsername = "webhook_username"               // the user name Bandwidth's callbacks carry (webhook_secret is the password)
	OptionWebhookToken    = conversations.OptionWebhookToken // the token in the channel's webhook URLs, which Parley makes
)

// Adapter is Bandwidth behind carrier.Adapter.
type Adapter struct {
	api *carrier.API
}

var _ carrier.Adapter = (*Adapter)(nil)

// New returns an adapter calling the API at apiURL ("" for Bandwidth's),
// each call bounded by timeout (DefaultTimeout when 0).
func New(apiURL string, timeout time.Duration) *Adapter {
	return &Adapter{api: carrier.NewAPI("Bandwidth", apiURL, DefaultAPIURL, timeout, refusal)}
}

// Name is "bandwidth".
func (*Adapter) Name() string { return conversations.CarrierBandwidth }

// MaxBodyBytes bounds a callback's body.
func (*Adapter) MaxBodyBytes() int64 { return MaxBodyBytes }

var (
	accountID = regexp.MustCompile(`^[0-9]{1,12}$`)
	username  = regexp.MustCompile(`^[A-Za-z0-9._@+-]{1,100}$`)
	token     = regexp.MustCompile(`^[A-Za-z0-9_-]{32,128}$`)
)

// MinWebhookPassword is the shortest callback password Parley takes:
// with no signature, it is half of what keeps forged texts out.
const MinWebhookPassword = 16

// CheckChannel checks the account, the application, the API user and the
// callback credentials, and makes the channel's webhook token when it has
// none.
func (*Adapter) CheckChannel(c *conversations.Channel) map[string]string {
	bad := map[string]string{}
	if !accountID.MatchString(c.CarrierAccountID) {
		bad["account_id"] = "must be a Bandwidth account id (digits)"
	}
	if c.PhoneNumber == "" {
		bad["phone_number"] = "is required: a Bandwidth channel is one number"
	}
	if c.MessagingServiceSID != "" {
		bad["messaging_service_sid"] = "is Twilio's; a Bandwidth number's application is options.application_id"
	}
	if len(c.WebhookSecret) < MinWebhookPassword {
		bad["webhook_secret"] = "is required: the password of the callback credentials set on the Bandwidth application, at least 16 characters"
	}
	opts := map[string]string{OptionWebhookUsername: "parley"}
	for k, v := range c.Options {
		opts[k] = v
	}
	if opts[OptionWebhookToken] == "" {
		opts[OptionWebhookToken] = newToken()
	}
	for name, valid := range map[string]func(string) bool{OptionApplicationID: carrier.IsUUID, OptionAPIUsername: username.MatchString,
		OptionWebhookUsername: username.MatchString, OptionWebhookToken: token.MatchString} {
		if !valid(opts[name]) {
			bad["options."+name] = "is required; see the Bandwidth channel's options"
		}
	}
	for k := range opts {
		switch k {
		case OptionApplicationID, OptionAPIUsername, OptionWebhookUsername, OptionWebhookToken:
		default:
			bad["options."+k] = "is not a Bandwidth option"
		}
	}
	c.Options = opts
	return bad
}

func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
