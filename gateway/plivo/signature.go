package plivo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"

	"github.com/parleyhq/parley"
)

// The signature headers. Plivo sends V2 and V3; Parley checks V3 (V2's
// "Ma" header carries the main account's signature).
const (
	HeaderV2      = "X-Plivo-Signature-V2"
	HeaderMainV2  = "X-Plivo-Signature-Ma-V2"
	HeaderV2Nonce = "X-Plivo-Signature-V2-Nonce"
	HeaderV3      = "X-Plivo-Signature-V3"
	HeaderV3Nonce = "X-Plivo-Signature-V3-Nonce"
)

// SignV2 is Plivo's V2 signature: base64 HMAC-SHA256, keyed with the auth
// token, of the URL without its query and the nonce.
func SignV2(authToken, fullURL, nonce string) string {
	u, err := url.Parse(fullURL)
	if err != nil {
		return ""
	}
	return mac(authToken, u.Scheme+"://"+u.Host+u.Path+nonce)
}

// SignV3 is Plivo's V3 signature of a request: base64 HMAC-SHA256 of the
// URL with its parameters in name order, then "." and the nonce. A GET's
// parameters join the query as name=value pairs; a POST's follow the
// query (and a ".") as names and values run together.
func SignV3(authToken, fullURL, method, nonce string, params url.Values) string {
	u, err := url.Parse(fullURL)
	if err != nil {
		return ""
	}
	s := u.Scheme + "://" + u.Host + u.Path
	query := rawPairs(u.RawQuery)
	if len(params) > 0 || len(query) > 0 {
		s += "?"
	}
	switch {
	case method == "GET":
		for k, v := range params {
			query[k] = first(v)
		}
		s += joinSorted(query, "=", "&")
	case len(query) > 0:
		s += joinSorted(query, "=", "&")
		if len(params) > 0 {
			s += "." + joinSorted(firsts(params), "", "")
		}
	default:
		s += joinSorted(firsts(params), "", "")
	}
	return mac(authToken, s+"."+nonce)
}

// verify checks a webhook's signature with the auth token: V3 when the
// request carries it, else V2, the one Plivo's messaging sends (either
// header, the account's or the main account's, signed with this token).
// V2 covers the URL's path and the nonce but neither the body nor the
// query, so verify returns the nonce for the gateway to bind to the
// content (carrier.Webhook.Nonce); "" after V3. EFORBIDDEN, saying why,
// when the signature is missing or wrong.
func verify(authToken, fullURL, method string, params url.Values, h interface{ Get(string) string }) (nonce string, err error) {
	if sigs, nonce := h.Get(HeaderV3), h.Get(HeaderV3Nonce); sigs != "" && nonce != "" {
		want := SignV3(authToken, fullURL, method, nonce, params)
		if slices.ContainsFunc(strings.Split(sigs, ","), func(s string) bool { return equal(strings.TrimSpace(s), want) }) {
			return "", nil
		}
		return "", parley.Errorf(parley.EFORBIDDEN, "the %s header does not match the auth token's signature of this URL and its parameters", HeaderV3)
	}
	nonce = h.Get(HeaderV2Nonce)
	if nonce == "" || (h.Get(HeaderV2) == "" && h.Get(HeaderMainV2) == "") {
		return "", parley.Errorf(parley.EFORBIDDEN, "the %s (or %s) and %s headers are missing", HeaderV2, HeaderMainV2, HeaderV2Nonce)
	}
	want := SignV2(authToken, fullURL, nonce)
	if equal(h.Get(HeaderV2), want) || equal(h.Get(HeaderMainV2), want) {
		return nonce, nil
	}
	return "", parley.Errorf(parley.EFORBIDDEN, "neither %s nor %s matches the auth token's signature of this URL and nonce", HeaderV2, HeaderMainV2)
}

func mac(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func equal(a, b string) bool { return a != "" && hmac.Equal([]byte(a), []byte(b)) }

// rawPairs reads a query's name=value pairs as they are written, without
// unescaping: Plivo signs them so.
func rawPairs(q string) map[string]string {
	out := map[string]string{}
	for _, pair := range strings.Split(q, "&") {
		if k, v, ok := strings.Cut(pair, "="); ok && !strings.Contains(v, "=") {
			out[k] = v
		}
	}
	return out
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func firsts(params url.Values) map[string]string {
	out := make(map[string]string, len(params))
	for k, v := range params {
		out[k] = first(v)
	}
	return out
}

func joinSorted(m map[string]string, kv, sep string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(k + kv + m[k])
	}
	return b.String()
}
