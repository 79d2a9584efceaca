package twiliotest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"slices"
)

// Sign returns the X-Twilio-Signature Twilio would send for a POST of params
// to url: base64(HMAC-SHA1(authToken, url + name+value for each parameter
// sorted by name)). url is used byte for byte, as the receiver must use the
// exact URL Twilio was configured with. A name given several values
// contributes each distinct value in sorted order, as twilio-python does;
// Twilio's form posts never repeat a name, so this only matters for callers
// that build odd requests on purpose.
func Sign(authToken, url string, params url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(url))
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		values := slices.Clone(params[name])
		slices.Sort(values)
		for _, v := range slices.Compact(values) {
			mac.Write([]byte(name))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
