// Package twilio is the Twilio adapter: it parses and verifies Twilio's
// webhooks and sends texts with twilio-go.
//
// It knows Twilio's wire formats and nothing about routing: the HTTP
// handlers in package gateway read a body with ReadForm, check it with
// VerifySignature, turn it into Parley's terms with ParseInbound or
// ParseStatus, and answer an inbound webhook with EmptyTwiML. Sender
// implements campaigns.Sender.
package twilio

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/twilio/twilio-go/client"

	"github.com/parleyhq/parley/gateway/carrier"
)

// MaxBodyBytes bounds a webhook body. Twilio's largest (an inbound MMS with
// ten media and a 1600-character body) is a few kilobytes; the bound keeps
// what a forged body costs before its signature fails that small too.
const MaxBodyBytes = 64 << 10

// EmptyTwiML is the answer to an inbound webhook: it tells Twilio there is
// no reply to send. Serve it as text/xml.
const EmptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// ReadForm reads a webhook's parameters, a form body of at most
// MaxBodyBytes or a GET's query (carrier.ReadParams), and returns their
// raw values. A caller that knows the declared length turns away a larger
// body before calling it.
func ReadForm(r *http.Request) (url.Values, error) {
	return carrier.ReadParams(r, MaxBodyBytes)
}

// VerifySignature reports whether signature is Twilio's X-Twilio-Signature
// for a POST of params to fullURL, signed with authToken. fullURL is the URL
// Twilio called: PARLEY_PUBLIC_URL plus r.URL.RequestURI(), query encoding
// untouched.
//
// Twilio signs the first value of each parameter, as twilio-go does; the
// signature is accepted with or without the default port in the URL,
// because Twilio computes it both ways. twilio-go compares with
// crypto/subtle.ConstantTimeCompare (client/request_validator.go, v1.31.0).
func VerifySignature(authToken, fullURL string, params url.Values, signature string) bool {
	if signature == "" || authToken == "" {
		return false
	}
	v := client.NewRequestValidator(authToken)
	return v.Validate(fullURL, map[string]string{"": signedParams(params)}, signature)
}

// signedParams is what Twilio signs after the URL: each name with its first
// value, sorted by name. twilio-go appends the pairs to one string a pair at
// a time, quadratic in their count, which a forged form makes large: handed
// the pairs already joined, as one parameter with an empty name, it signs
// the same bytes in linear time.
func signedParams(params url.Values) string {
	var b strings.Builder
	size := 0
	for name, v := range params {
		if len(v) > 0 {
			size += len(name) + len(v[0])
		}
	}
	b.Grow(size)
	for _, name := range slices.Sorted(maps.Keys(params)) {
		if v := params[name]; len(v) > 0 {
			b.WriteString(name)
			b.WriteString(v[0])
		}
	}
	return b.String()
}
