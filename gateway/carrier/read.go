package carrier

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// ReplayWindow is how far a signed timestamp may be from now, either way,
// before the webhook is refused as a replay (or a clock far off).
const ReplayWindow = 5 * time.Minute

// ReadBody reads a webhook's body, at most max bytes: more is ETOOLARGE, a
// body that breaks off is EMALFORMED.
func ReadBody(r *http.Request, max int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, parley.Errorf(parley.ETOOLARGE, "the request body is over %d bytes", max)
		}
		return nil, parley.Errorf(parley.EMALFORMED, "could not read the request body: %v", err)
	}
	if int64(len(body)) > max {
		return nil, parley.Errorf(parley.ETOOLARGE, "the request body is over %d bytes", max)
	}
	return body, nil
}

// DecodeJSON decodes a webhook's JSON body into v: anything that is not
// that JSON is EMALFORMED.
func DecodeJSON(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return parley.Errorf(parley.EMALFORMED, "the body is not the carrier's JSON: %v", err)
	}
	return nil
}

// CheckTimestamp refuses a signed Unix timestamp (seconds) that is missing,
// unreadable or outside ReplayWindow of now: EFORBIDDEN, naming header.
func CheckTimestamp(header, value string, now time.Time) error {
	if value == "" {
		return parley.Errorf(parley.EFORBIDDEN, "the %s header is missing", header)
	}
	secs, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return parley.Errorf(parley.EFORBIDDEN, "the %s header is not a Unix time in seconds", header)
	}
	at := time.Unix(secs, 0)
	if d := now.Sub(at); d > ReplayWindow || d < -ReplayWindow {
		return parley.Errorf(parley.EFORBIDDEN, "the %s header is %s from now, outside the %s a signature is good for (a replay, or a clock far off)",
			header, d.Round(time.Second).Abs(), ReplayWindow)
	}
	return nil
}

// BadText says why s cannot be stored as text, or "": PostgreSQL refuses
// invalid UTF-8 and NUL in text columns, so such a value is the sender's
// error here, not a failed insert later.
func BadText(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if strings.ContainsRune(s, 0) {
		return "contains a NUL character"
	}
	return ""
}

// MaxMedia bounds the attachments Parley reads off one inbound text.
const MaxMedia = 10

// IsMediaURL reports whether raw is an attachment's address Parley keeps:
// an absolute http or https URL that can be stored as text.
func IsMediaURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && BadText(raw) == ""
}

// maxParams bounds a form's parameters, several times what any carrier
// sends: a form decodes into a map, and thousands of tiny parameters
// would cost far more than their bytes.
const maxParams = 256

// ReadForm reads a form-encoded webhook body of at most max bytes and
// returns its values. A body of another content type, or that does not
// decode, is EMALFORMED; a larger one, or one of more than 256
// parameters, ETOOLARGE. Only the body is read: the query string belongs
// to the signed URL, so it is never merged in as http.Request.ParseForm
// would.
func ReadForm(r *http.Request, max int64) (url.Values, error) {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, parley.Errorf(parley.EMALFORMED, "content type %q is not application/x-www-form-urlencoded", ct)
	}
	body, err := ReadBody(r, max)
	if err != nil {
		return nil, err
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

// ReadParams reads a webhook's parameters: a GET's from its query, where
// the carriers that can deliver by GET put them (signed as part of the
// URL), anything else's from its form body (ReadForm). More than 256
// parameters is ETOOLARGE; a query that does not decode, EMALFORMED.
func ReadParams(r *http.Request, max int64) (url.Values, error) {
	if r.Method != http.MethodGet {
		return ReadForm(r, max)
	}
	if strings.Count(r.URL.RawQuery, "&") >= maxParams {
		return nil, parley.Errorf(parley.ETOOLARGE, "the query has more than %d parameters", maxParams)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, parley.Errorf(parley.EMALFORMED, "the query does not decode: %v", err)
	}
	return q, nil
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsUUID reports whether s is a UUID in its usual text form, as the
// carriers' profile, application and channel ids are.
func IsUUID(s string) bool { return uuidPattern.MatchString(s) }
