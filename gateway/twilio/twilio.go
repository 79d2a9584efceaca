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
	"bytes"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/twilio/twilio-go/client"

	"github.com/parleyhq/parley"
)

// MaxBodyBytes bounds a webhook body. Twilio's largest (an inbound MMS with
// ten media and a 1600-character body) is a few kilobytes; the bound keeps
// what a forged body costs before its signature fails that small too.
const MaxBodyBytes = 64 << 10

// maxParams bounds the parameters of a webhook form, several times what
// Twilio sends (about seventy at most): a form decodes into a map, and
// thousands of tiny parameters would cost far more than their bytes.
const maxParams = 256

// EmptyTwiML is the answer to an inbound webhook: it tells Twilio there is
// no reply to send. Serve it as text/xml.
const EmptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// ReadForm reads a form-encoded webhook body and returns its raw values.
// It reads at most MaxBodyBytes+1 bytes: a body over MaxBodyBytes, or of
// more than 256 parameters, is ETOOLARGE; a body that is not
// application/x-www-form-urlencoded or does not decode is EMALFORMED. A
// caller that knows the declared length turns away a larger body before
// calling it.
//
// Only the body is read: the query string belongs to the signed URL, not to
// the signed parameters, so ReadForm never merges it in the way
// http.Request.ParseForm does.
func ReadForm(r *http.Request) (url.Values, error) {
	ct := r.Header.Get("Content-Type")
	mediaType, _, err := mime.ParseMediaType(ct)
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		return nil, parley.Errorf(parley.EMALFORMED, "content type %q is not application/x-www-form-urlencoded", ct)
	}
	var body []byte
	if r.Body != nil {
		body, err = io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
		if err != nil {
			// The sender went away or the framing is broken: its problem,
			// not an outage of ours. A MaxBytesError means a caller
			// already limited the body more tightly.
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, tooLarge()
			}
			return nil, parley.Errorf(parley.EMALFORMED, "could not read the request body: %v", err)
		}
	}
	if len(body) > MaxBodyBytes {
		return nil, tooLarge()
	}
	if bytes.Count(body, []byte("&")) >= maxParams {
		return nil, parley.Errorf(parley.ETOOLARGE, "the form has more than %d parameters", maxParams)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, parley.Errorf(parley.EMALFORMED, "the form body does not decode: %v", err)
	}
	return form, nil
}

func tooLarge() error {
	return parley.Errorf(parley.ETOOLARGE, "the request body is over %d bytes", MaxBodyBytes)
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
