// Package vonage is the Vonage adapter: inbound texts and delivery
// receipts from the SMS API, signed with `sig` (an MD5 hash or an HMAC of
// the sorted parameters, with the account's signature secret), inbound
// texts and statuses from the Messages API, signed with an HS256 JWT
// carrying the body's hash, and the SMS API for sending.
//
// Vonage's Go SDK is not served here and Parley needs two JSON calls and
// two signature checks, so it is plain net/http (the JWT is checked with
// golang-jwt). PARLEY_VONAGE_API_URL replaces the API's host for tests
// and the fake carrier.
//
// A channel's account is the Vonage API key; the auth token is its API
// secret; the webhook secret is the account's signature secret, and the
// option signature_method is the dashboard's hash (md5hash, md5, sha1,
// sha256 or sha512). Webhooks are POST, form or JSON, or the SMS API's
// GET when the account is set so (the same signed parameters, in the
// query; a text lost to a 405 would be worse than a text in a URL).
//
// The SMS API delivers a long text part by part: each part is a
// conversations.TextPart, joined by the store before ingest. Each part of
// a long text Parley sends has its own id and receipt: Parley sends each
// text with a client reference, which every part's receipt carries, and
// records that reference as the text's carrier id.
package vonage

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// DefaultAPIURL is the SMS API's host.
const DefaultAPIURL = "https://rest.nexmo.com"

// MaxBodyBytes bounds a webhook body: a text's parameters are well under
// 4 KB.
const MaxBodyBytes = 64 << 10

// MinSignatureSecret is the shortest signature secret taken: the
// dashboard's are longer, and a short one would be guessed.
const MinSignatureSecret = 16

// OptionSignatureMethod names the channel's signature hash.
const OptionSignatureMethod = "signature_method"

// The signature methods of Vonage's dashboard.
const (
	MethodMD5Hash = "md5hash" // MD5(params + secret), the default
	MethodMD5     = "md5"     // HMAC-MD5
	MethodSHA1    = "sha1"    // HMAC-SHA1
	MethodSHA256  = "sha256"  // HMAC-SHA256
	MethodSHA512  = "sha512"  // HMAC-SHA512
)

// Adapter is Vonage behind carrier.Adapter.
type Adapter struct {
	api *carrier.API
}

var _ carrier.Adapter = (*Adapter)(nil)

// New returns an adapter calling the API at apiURL ("" for Vonage's),
// each call bounded by timeout (carrier.DefaultTimeout when 0).
func New(apiURL string, timeout time.Duration) *Adapter {
	return &Adapter{api: carrier.NewAPI("Vonage", apiURL, DefaultAPIURL, timeout, nil)}
}

// Name is "vonage".
func (*Adapter) Name() string { return conversations.CarrierVonage }

// MaxBodyBytes bounds a webhook's body.
func (*Adapter) MaxBodyBytes() int64 { return MaxBodyBytes }

var apiKey = regexp.MustCompile(`^[0-9A-Za-z]{6,32}$`)

// CheckChannel checks the API key, the secrets and the signature method
// (md5hash when none is given).
func (*Adapter) CheckChannel(c *conversations.Channel) map[string]string {
	bad := map[string]string{}
	if !apiKey.MatchString(c.CarrierAccountID) {
		bad["account_id"] = "must be the Vonage API key (letters and digits, from the dashboard's API settings)"
	}
	if len(c.WebhookSecret) < MinSignatureSecret {
		bad["webhook_secret"] = fmt.Sprintf("is required: the account's signature secret (at least %d characters), which signs Vonage's webhooks", MinSignatureSecret)
	}
	if c.PhoneNumber == "" {
		bad["phone_number"] = "is required: a Vonage channel is one number"
	}
	if c.MessagingServiceSID != "" {
		bad["messaging_service_sid"] = "is Twilio's; Vonage has none"
	}
	method := strings.ToLower(strings.TrimSpace(c.Options[OptionSignatureMethod]))
	if method == "" {
		method = MethodMD5Hash
	}
	if _, ok := hashes[method]; !ok && method != MethodMD5Hash {
		bad["options."+OptionSignatureMethod] = "must be md5hash, md5, sha1, sha256 or sha512, as the dashboard's signature method says"
	}
	for k := range c.Options {
		if k != OptionSignatureMethod {
			bad["options."+k] = "is not a Vonage option (only signature_method is)"
		}
	}
	c.Options = map[string]string{OptionSignatureMethod: method}
	return bad
}
