package carrier

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
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
