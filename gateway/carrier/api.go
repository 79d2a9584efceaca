package carrier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
)

// API is a carrier's JSON REST API as its adapter calls it: each call
// bounded by Timeout, refusals read by Refusal.
type API struct {
	Name    string // the carrier, in errors
	BaseURL string
	Timeout time.Duration
	Client  *http.Client
	// Refusal turns an answer that is not 2xx into a *campaigns.SendError
	// with the carrier's code and words.
	Refusal func(status int, body []byte) *campaigns.SendError
}

// DefaultTimeout bounds a carrier API call when none is given.
const DefaultTimeout = 10 * time.Second

// NewAPI returns an API on its own connection pool, at baseURL (the
// carrier's own, defaultURL, when empty: a fake or a test gives another),
// each call bounded by timeout (DefaultTimeout when 0).
func NewAPI(name, baseURL, defaultURL string, timeout time.Duration, refusal func(int, []byte) *campaigns.SendError) *API {
	if baseURL == "" {
		baseURL = defaultURL
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &API{Name: name, BaseURL: strings.TrimRight(baseURL, "/"), Timeout: timeout, Refusal: refusal,
		Client: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}}
}

// RefusedCredentials reports whether err is the carrier's 401 or 403 to
// a call made with a channel's credentials.
func RefusedCredentials(err error) bool {
	var se *campaigns.SendError
	return errors.As(err, &se) && (se.HTTPStatus == http.StatusUnauthorized || se.HTTPStatus == http.StatusForbidden)
}

// FailedForGood reports whether a status says the text will never reach
// the phone: failed or undelivered. Only such a text can have failed
// because the recipient unsubscribed.
func FailedForGood(s conversations.MessageStatus) bool {
	return s == conversations.MessageFailed || s == conversations.MessageUndelivered
}

// Do makes one call, authorized by authorize, in (when not nil) sent as JSON, and decodes a 2xx
// answer into out. A refusal is a *campaigns.SendError, Temporary for 429
// and 5xx; a call with no answer is Temporary with HTTPStatus 0, as it
// leaves a send's fate unknown; a 2xx that cannot be read is final, so
// that a text the carrier took is not sent again.
func (a *API) Do(ctx context.Context, method, path string, authorize func(*http.Request), in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	callCtx, cancel := context.WithTimeout(ctx, a.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(callCtx, method, a.BaseURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	authorize(req)
	// Whether any of the request was written tells an outage before it
	// (the carrier cannot have the text) from a lost answer after it.
	var wrote atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteHeaders: func() { wrote.Store(true) },
	}))
	resp, err := a.Client.Do(req)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("%s: call abandoned: %w", a.Name, context.Cause(ctx))
		case callCtx.Err() != nil:
			return &campaigns.SendError{Message: fmt.Sprintf("no answer from %s within %v", a.Name, a.Timeout), Temporary: true, NotSent: !wrote.Load()}
		}
		return &campaigns.SendError{Message: err.Error(), Temporary: true, NotSent: !wrote.Load()}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		se := &campaigns.SendError{HTTPStatus: resp.StatusCode, Message: http.StatusText(resp.StatusCode)}
		if a.Refusal != nil {
			if r := a.Refusal(resp.StatusCode, raw); r != nil {
				se = r
			}
		}
		se.HTTPStatus = resp.StatusCode
		se.Temporary = resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		return se
	}
	if err == nil && out != nil {
		err = json.Unmarshal(raw, out)
	}
	if err != nil {
		return &campaigns.SendError{HTTPStatus: resp.StatusCode,
			Message: a.Name + " answered but its answer could not be read; not retrying, to avoid sending twice: " + err.Error()}
	}
	return nil
}
