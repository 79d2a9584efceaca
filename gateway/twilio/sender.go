package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// DefaultTimeout bounds an API call when NewSender is given no timeout. It
// is twilio-go's own default.
const DefaultTimeout = 10 * time.Second

// Sender sends texts with twilio-go. It implements campaigns.Sender and is
// safe for concurrent use.
//
// Each text carries its channel's credentials, so Send builds a twilio-go
// client per call; all calls share one http.Client and so one pool of
// connections to Twilio.
type Sender struct {
	http    *http.Client
	timeout time.Duration
}

var (
	_ campaigns.Sender        = (*Sender)(nil)
	_ campaigns.StatusChecker = (*Sender)(nil)
)

// NewSender returns a Sender. apiBaseURL "" means Twilio itself; otherwise,
// e.g. "http://127.0.0.1:8090", the scheme and host of every Twilio API
// call are replaced with it (and its path, if any, is put in front of the
// API path). twilio-go hard-codes https://api.twilio.com, so this is done
// by an http.RoundTripper after twilio-go has built the URL. timeout bounds
// each API call, answer included; 0 means DefaultTimeout.
func NewSender(apiBaseURL string, timeout time.Duration) (*Sender, error) {
	if timeout < 0 {
		return nil, fmt.Errorf("twilio: negative API timeout %v", timeout)
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// The dispatcher sends in parallel to one host; the default of two idle
	// connections per host would redial for most texts.
	tr.MaxIdleConnsPerHost = 64
	var rt http.RoundTripper = tr
	if apiBaseURL != "" {
		base, err := url.Parse(apiBaseURL)
		if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" ||
			base.User != nil || base.RawQuery != "" || base.Fragment != "" {
			return nil, fmt.Errorf("twilio: API base URL %q is not of the form http(s)://host[:port][/path]", apiBaseURL)
		}
		base.Path = strings.TrimSuffix(base.Path, "/")
		base.RawPath = ""
		rt = &rewriteTransport{base: base, next: tr}
	}
	return &Sender{
		http: &http.Client{
			Transport: rt,
			// Like twilio-go's default client: an API answer is never a
			// redirect worth following with the credentials attached.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			// No Timeout here: Send bounds each call with a context, which
			// a client timeout would be overridden by (see callTransport).
		},
		timeout: timeout,
	}, nil
}

// Send creates a Message with Twilio's API. A refusal is a
// *campaigns.SendError carrying Twilio's HTTP status and error code; it is
// temporary for HTTP 429 and 5xx, and for failures to reach Twilio at all.
//
// Cancellation: twilio-go builds every request with context.Background()
// and offers no way to pass one, so Send gives each call its own
// RoundTripper that puts ctx, bounded by the Sender's timeout, on the
// request. Cancelling ctx aborts the call in flight; Send then returns an
// error wrapping ctx's error (not a SendError), which campaigns.Sender
// treats as temporary.
//
// Twilio's Messages API has no idempotency key: a call that timed out may
// still have sent the text, and retrying it may send it twice. A call
// Twilio answered with 2xx is never reported as temporary.
func (s *Sender) Send(ctx context.Context, t campaigns.OutboundText) (campaigns.SendResult, error) {
	if t.CarrierAccountID == "" || t.AuthToken == "" {
		return campaigns.SendResult{}, &campaigns.SendError{Message: "the channel has no Twilio account SID or auth token"}
	}

	callCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	svc, call := s.service(callCtx, t)

	p := &api.CreateMessageParams{}
	p.SetTo(t.To)
	if t.From != "" {
		p.SetFrom(t.From)
	}
	if t.MessagingServiceSID != "" {
		p.SetMessagingServiceSid(t.MessagingServiceSID)
	}
	if t.Body != "" {
		p.SetBody(t.Body)
	}
	if len(t.MediaURLs) > 0 {
		p.SetMediaUrl(t.MediaURLs)
	}
	if t.StatusCallbackURL != "" {
		p.SetStatusCallback(t.StatusCallbackURL)
	}

	m, err := svc.CreateMessage(p)
	if err != nil {
		return campaigns.SendResult{}, s.sendError(ctx, callCtx, call.status, err)
	}
	res := campaigns.SendResult{CarrierMessageID: deref(m.Sid), Status: MessageStatus(deref(m.Status))}
	if res.CarrierMessageID == "" {
		return campaigns.SendResult{}, &campaigns.SendError{
			HTTPStatus: call.status,
			Message:    "Twilio accepted the text but its answer has no sid; not retrying, to avoid sending it twice",
		}
	}
	if n, err := strconv.Atoi(deref(m.NumSegments)); err == nil && n > 0 {
		res.Segments = n
	}
	return res, nil
}

// service returns a twilio-go API client with t's channel credentials
// whose every request runs under ctx, and the transport that remembers the
// HTTP status of the last answer.
func (s *Sender) service(ctx context.Context, t campaigns.OutboundText) (*api.ApiService, *callTransport) {
	c, call := s.client(ctx, t.CarrierAccountID, t.AuthToken)
	// Only the 2010 API service: twilio.NewRestClientWithParams would
	// build (and the binary would link) all of Twilio's products.
	return api.NewApiServiceWithClient(c), call
}

// client returns a twilio-go client with the credentials whose every
// request runs under ctx through the Sender's connections, and the
// transport that remembers the HTTP status of the last answer.
func (s *Sender) client(ctx context.Context, accountSID, authToken string) (*client.Client, *callTransport) {
	call := &callTransport{ctx: ctx, next: s.http.Transport}
	hc := *s.http
	hc.Transport = call
	c := &client.Client{
		Credentials: client.NewCredentials(accountSID, authToken),
		HTTPClient:  &hc,
	}
	c.SetAccountSid(accountSID)
	return c, call
}

// Lookup bounds: a reclaimed text is searched for among at most
// lookupLimit of Twilio's messages to its number, read lookupPageSize at a
// time, newest first.
const (
	lookupLimit    = 200
	lookupPageSize = 50
)

// Lookup searches Twilio's list of the account's messages for t, created
// at or after since (see campaigns.Sender). It filters by To, by From when
// t has one, and by DateSent from since's day: Twilio documents DateSent as
// a GMT day, so the list is a superset and since is applied to each
// message's date_created here. A text sent through a Messaging Service is
// listed with the number the service picked, so it is matched on
// messaging_service_sid instead of From.
//
// At most lookupLimit messages are read. If that many are all newer than
// since, the window was not searched to its start and Lookup returns an
// error rather than a "not found" it cannot vouch for.
//
// (unverified) Twilio fills date_sent only once it hands a text on; a
// text still in Twilio's queue may be left out of a DateSent-filtered list.
// The dispatcher's lease (a minute) is normally well past that queueing.
func (s *Sender) Lookup(ctx context.Context, t campaigns.OutboundText, since time.Time) (campaigns.SendResult, bool, error) {
	if t.CarrierAccountID == "" || t.AuthToken == "" {
		return campaigns.SendResult{}, false, errors.New("twilio: the channel has no Twilio account SID or auth token")
	}
	callCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	svc, call := s.service(callCtx, t)

	since = since.UTC()
	p := &api.ListMessageParams{}
	p.SetTo(t.To)
	if t.MessagingServiceSID == "" {
		p.SetFrom(t.From)
	}
	// twilio-go sends the time as RFC 3339; midnight UTC reads the same
	// whether Twilio takes it as a day or as an instant.
	p.SetDateSentAfter(time.Date(since.Year(), since.Month(), since.Day(), 0, 0, 0, 0, time.UTC))
	p.SetPageSize(lookupPageSize)
	p.SetLimit(lookupLimit)
	msgs, err := svc.ListMessage(p)
	if err != nil {
		if ctx.Err() != nil {
			return campaigns.SendResult{}, false, fmt.Errorf("twilio: lookup abandoned: %w", context.Cause(ctx))
		}
		if callCtx.Err() != nil {
			return campaigns.SendResult{}, false, fmt.Errorf("twilio: no answer to a lookup within %v", s.timeout)
		}
		return campaigns.SendResult{}, false, fmt.Errorf("twilio: lookup (http %d): %w", call.status, err)
	}
	windowDone := len(msgs) < lookupLimit
	for _, m := range msgs {
		created, err := time.Parse(time.RFC1123Z, deref(m.DateCreated))
		if err != nil {
			return campaigns.SendResult{}, false, fmt.Errorf("twilio: lookup: message %s has an unreadable date_created %q", deref(m.Sid), deref(m.DateCreated))
		}
		if created.Before(since) {
			windowDone = true // newest first: the rest are older still
			continue
		}
		if sameText(m, t) && deref(m.Sid) != "" {
			res := campaigns.SendResult{CarrierMessageID: deref(m.Sid), Status: MessageStatus(deref(m.Status))}
			if n, err := strconv.Atoi(deref(m.NumSegments)); err == nil && n > 0 {
				res.Segments = n
			}
			if m.ErrorCode != nil {
				res.ErrorCode = *m.ErrorCode
				res.Unsubscribed = unsubscribedFailure(conversations.MessageStatus(res.Status), res.ErrorCode)
			}
			return res, true, nil
		}
	}
	if !windowDone {
		return campaigns.SendResult{}, false, fmt.Errorf("twilio: lookup: the newest %d messages to %s all came after %s; the rest of the window was not searched",
			lookupLimit, t.To, since.Format(time.RFC3339))
	}
	return campaigns.SendResult{}, false, nil
}

// CheckStatus fetches the message carrierMessageID from Twilio (GET
// /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json) with t's channel
// credentials and returns its current status (see campaigns.StatusChecker).
// Errors are classified as Send's are: an answer such as 404 is a
// *campaigns.SendError that is not temporary.
func (s *Sender) CheckStatus(ctx context.Context, t campaigns.OutboundText, carrierMessageID string) (campaigns.CarrierStatus, error) {
	if t.CarrierAccountID == "" || t.AuthToken == "" {
		return campaigns.CarrierStatus{}, &campaigns.SendError{Message: "the channel has no Twilio account SID or auth token"}
	}
	if !sidPattern.MatchString(carrierMessageID) {
		return campaigns.CarrierStatus{}, &campaigns.SendError{Message: fmt.Sprintf("%q is not a Twilio message sid", carrierMessageID)}
	}
	callCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	svc, call := s.service(callCtx, t)
	m, err := svc.FetchMessage(carrierMessageID, nil)
	if err != nil {
		return campaigns.CarrierStatus{}, s.sendError(ctx, callCtx, call.status, err)
	}
	st := conversations.MessageStatus(MessageStatus(deref(m.Status)))
	if st.Rank() == 0 {
		return campaigns.CarrierStatus{}, &campaigns.SendError{HTTPStatus: call.status, Temporary: true,
			Message: fmt.Sprintf("Twilio reports message %s as %q, not an outbound status", carrierMessageID, deref(m.Status))}
	}
	return campaigns.CarrierStatus{Status: st, ErrorCode: m.ErrorCode,
		Unsubscribed: m.ErrorCode != nil && unsubscribedFailure(st, *m.ErrorCode)}, nil
}

// sidPattern is a message sid as Twilio makes them (SM or MM and hex), so
// it can go into a path as it is.
var sidPattern = regexp.MustCompile(`^[A-Z]{2}[0-9a-zA-Z]{1,62}$`)

// sameText reports whether Twilio's message is t: outbound, to t.To, from
// t's sender, with t's body.
func sameText(m api.ApiV2010Message, t campaigns.OutboundText) bool {
	if deref(m.To) != t.To || deref(m.Body) != t.Body || strings.HasPrefix(deref(m.Direction), "inbound") {
		return false
	}
	if t.MessagingServiceSID != "" {
		return deref(m.MessagingServiceSid) == t.MessagingServiceSID
	}
	return deref(m.From) == t.From
}

// sendError classifies a failed CreateMessage. status is the HTTP status of
// Twilio's answer, 0 when there was none.
func (s *Sender) sendError(ctx, callCtx context.Context, status int, err error) error {
	var te *client.TwilioRestError
	if errors.As(err, &te) {
		// Twilio's body repeats the HTTP status; trust the real one if a
		// proxy or fake left it out.
		st := te.Status
		if st == 0 {
			st = status
		}
		return &campaigns.SendError{HTTPStatus: st, Code: te.Code, Message: te.Message, Temporary: temporary(st),
			Unsubscribed: te.Code == CodeUnsubscribed}
	}
	switch {
	case status >= 200 && status < 400:
		// Twilio took the text; only its answer is unreadable.
		return &campaigns.SendError{
			HTTPStatus: status,
			Message:    "Twilio accepted the text but its answer could not be read; not retrying, to avoid sending it twice: " + err.Error(),
		}
	case status != 0:
		// An error answer that is not Twilio's JSON, e.g. a proxy's page.
		return &campaigns.SendError{HTTPStatus: status, Message: err.Error(), Temporary: temporary(status)}
	case ctx.Err() != nil:
		return fmt.Errorf("twilio: send abandoned: %w", context.Cause(ctx))
	case callCtx.Err() != nil:
		return &campaigns.SendError{Message: fmt.Sprintf("no answer from Twilio within %v", s.timeout), Temporary: true}
	}
	return &campaigns.SendError{Message: err.Error(), Temporary: true}
}

// CodeUnsubscribed is Twilio's "Attempt to send to unsubscribed
// recipient": Twilio itself holds an opt-out for the phone.
const CodeUnsubscribed = 21610

// unsubscribedFailure reports whether a text Twilio reports in status
// with code failed because the recipient unsubscribed.
func unsubscribedFailure(status conversations.MessageStatus, code int) bool {
	return code == CodeUnsubscribed && carrier.FailedForGood(status)
}

func temporary(httpStatus int) bool {
	return httpStatus == http.StatusTooManyRequests || httpStatus >= 500
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// callTransport carries one Send's context into twilio-go's requests, which
// are built with context.Background(), and remembers the HTTP status of the
// answer. It lives for one call, used from one goroutine.
type callTransport struct {
	ctx    context.Context
	next   http.RoundTripper
	status int
}

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req.WithContext(t.ctx))
	if resp != nil {
		t.status = resp.StatusCode
	}
	return resp, err
}

// rewriteTransport sends requests built for any Twilio host
// (api.twilio.com, messaging.twilio.com) to base instead.
type rewriteTransport struct {
	base *url.URL
	next http.RoundTripper
}

func (t *rewriteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.URL.Scheme = t.base.Scheme
	r.URL.Host = t.base.Host
	if t.base.Path != "" {
		r.URL.Path = t.base.Path + r.URL.Path
		r.URL.RawPath = ""
	}
	r.Host = ""
	return t.next.RoundTrip(r)
}
