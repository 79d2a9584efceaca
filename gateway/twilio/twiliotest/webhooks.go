package twiliotest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// Paths of Parley's Twilio webhooks (API.md, "Carrier webhooks").
const (
	InboundPath = "/webhooks/twilio/messages"
	StatusPath  = "/webhooks/twilio/status"
)

// ErrUnknownAccount is returned by SendInbound for an AccountSid that is not
// configured, or an empty one when several accounts are.
var ErrUnknownAccount = errors.New("twiliotest: unknown account")

// maxResponseBytes caps how much of Parley's answer a webhook keeps.
const maxResponseBytes = 64 << 10

// Inbound is a text a phone sends to one of Parley's numbers.
type Inbound struct {
	AccountSid          string // may be empty when exactly one account is configured
	From, To, Body      string
	MessagingServiceSid string
	// MessageSid is generated ("SM" + 32 hex digits) when empty; set it to
	// resend the same text and test idempotency.
	MessageSid string
	MediaURLs  []string
	// ExtraParams are added to the webhook's form, replacing fields of the
	// same name, e.g. FromCity or a wrong NumSegments.
	ExtraParams url.Values
}

// InboundResult is Parley's answer to an inbound webhook.
type InboundResult struct {
	StatusCode int
	Body       string
	MessageSid string
}

// SendInbound posts in to Parley's inbound webhook as Twilio would, signed
// with the account's token over PublicURL + InboundPath. An error means
// Parley could not be reached or answered nothing; any HTTP status is a result.
func (c *Carrier) SendInbound(ctx context.Context, in Inbound) (InboundResult, error) {
	account, token, err := c.account(in.AccountSid)
	if err != nil {
		return InboundResult{}, err
	}
	if in.MessageSid == "" {
		in.MessageSid = newSid().String()
	}
	params := inboundParams(in, account)
	status, body, err := c.post(ctx, c.parleyURL+InboundPath, c.publicURL+InboundPath, token, params)
	if err == nil {
		c.log.Info().Str("sid", in.MessageSid).Int("parley_status", status).
			Msgf("text from %s to %s: %s", in.From, in.To, in.Body)
	}
	return InboundResult{StatusCode: status, Body: body, MessageSid: in.MessageSid}, err
}

// account finds the token to sign with; an empty sid means the only account.
func (c *Carrier) account(sid string) (string, string, error) {
	if sid == "" {
		sid = c.accounts.sole()
	}
	token, ok := c.accounts.token(sid)
	if !ok {
		return "", "", fmt.Errorf("%w %q", ErrUnknownAccount, sid)
	}
	return sid, token, nil
}

// inboundParams are the fields of Twilio's incoming message webhook
// (CARRIERS.md §1).
func inboundParams(in Inbound, account string) url.Values {
	p := url.Values{
		"MessageSid":    {in.MessageSid},
		"SmsSid":        {in.MessageSid},
		"SmsMessageSid": {in.MessageSid},
		"AccountSid":    {account},
		"From":          {in.From},
		"To":            {in.To},
		"Body":          {in.Body},
		"NumSegments":   {strconv.Itoa(countSegments(in.Body))},
		"NumMedia":      {strconv.Itoa(len(in.MediaURLs))},
		"SmsStatus":     {"received"},
		"ApiVersion":    {apiVersion},
		"FromCountry":   {"US"},
		"ToCountry":     {"US"},
	}
	if in.MessagingServiceSid != "" {
		p.Set("MessagingServiceSid", in.MessagingServiceSid)
	}
	for i, u := range in.MediaURLs {
		p.Set("MediaUrl"+strconv.Itoa(i), u)
		p.Set("MediaContentType"+strconv.Itoa(i), mediaType(u))
	}
	for name, values := range in.ExtraParams {
		p[name] = values
	}
	return p
}

// mediaType guesses a media URL's content type from its extension; Twilio
// reports what the sender's phone sent, which is most often a JPEG photo.
func mediaType(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "image/jpeg"
	}
	switch strings.ToLower(path.Ext(u.Path)) {
	case ".png":
		return "image/png"
	case ".gif":
		return "image/gif"
	case ".mp4":
		return "video/mp4"
	case ".pdf":
		return "application/pdf"
	case ".vcf":
		return "text/vcard"
	default:
		return "image/jpeg"
	}
}

// SendStatus posts a status callback for a text the REST API accepted, and
// records status (and errorCode, 0 for none) as the text's status. It goes to
// the StatusCallback given at create time, or PublicURL + StatusPath when
// none was. It returns Parley's HTTP status. Statuses are not checked, so a
// test can send them out of order or repeat them.
func (c *Carrier) SendStatus(ctx context.Context, sid, status string, errorCode int) (int, error) {
	id, ok := parseSid(sid)
	var rec record
	if ok {
		rec, ok = c.store.setStatus(id, status, errorCode, time.Now())
	}
	if !ok {
		return 0, fmt.Errorf("twiliotest: no text with sid %q", sid)
	}
	return c.postStatus(ctx, &rec)
}

// scheduleStatuses starts the callbacks of a text just accepted, unless the
// carrier is closing.
func (c *Carrier) scheduleStatuses(id sid, undeliverableCode int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.pendingPosts.Add(1)
	go c.deliver(id, undeliverableCode)
}

// deliver plays the handset: after StatusDelay the text is "sent", after
// another it is "delivered", or "undelivered" when its number is; each
// status is posted unless callbacks are dropped.
func (c *Carrier) deliver(id sid, undeliverableCode int) {
	defer c.pendingPosts.Done()
	final, code := "delivered", 0
	if undeliverableCode != 0 {
		final, code = "undelivered", undeliverableCode
	}
	for _, step := range []struct {
		status string
		code   int
	}{{"sent", 0}, {final, code}} {
		if !sleep(c.stopCtx, c.statusDelay) {
			return
		}
		rec, ok := c.store.setStatus(id, step.status, step.code, time.Now())
		if !ok {
			return // Reset forgot the text
		}
		if c.dropPosts {
			continue
		}
		status, err := c.postStatus(c.stopCtx, &rec)
		if err != nil && !errors.Is(err, context.Canceled) {
			c.log.Warn().Err(err).Str("sid", id.String()).Str("status", step.status).Msg("status callback failed")
		} else if err == nil && status >= 300 {
			c.log.Warn().Int("parley_status", status).Str("sid", id.String()).Str("status", step.status).Msg("status callback refused")
		}
	}
}

// postStatus posts rec's current status to its callback URL. The request
// goes to Parley's real address but is signed over the callback URL as
// given, because that is the URL Parley believes Twilio called.
func (c *Carrier) postStatus(ctx context.Context, rec *record) (int, error) {
	callback := rec.callback.Value()
	if callback == "" {
		callback = c.publicURL + StatusPath
	}
	target, err := c.deliveryURL(callback)
	if err != nil {
		return 0, err
	}
	token, _ := c.accounts.token(rec.account.Value())
	status, _, err := c.post(ctx, target, callback, token, statusParams(rec, time.Now()))
	return status, err
}

// deliveryURL maps a callback URL, which may name a public address the fake
// cannot reach, to the same path on ParleyURL.
func (c *Carrier) deliveryURL(callback string) (string, error) {
	if rest, ok := strings.CutPrefix(callback, c.publicURL); ok && c.publicURL != "" &&
		(rest == "" || strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, "?")) {
		return c.parleyURL + rest, nil
	}
	u, err := url.Parse(callback)
	if err != nil {
		return "", fmt.Errorf("twiliotest: status callback %q: %w", callback, err)
	}
	return c.parleyURL + u.RequestURI(), nil
}

// statusParams are the fields of Twilio's status callback (CARRIERS.md §1).
func statusParams(rec *record, now time.Time) url.Values {
	sid := rec.sid.String()
	p := url.Values{
		"MessageSid":    {sid},
		"SmsSid":        {sid},
		"MessageStatus": {rec.status},
		"SmsStatus":     {rec.status},
		"AccountSid":    {rec.account.Value()},
		"From":          {rec.from.Value()},
		"To":            {rec.to.Value()},
		"ApiVersion":    {apiVersion},
	}
	if service := rec.service.Value(); service != "" {
		p.Set("MessagingServiceSid", service)
	}
	if rec.errorCode != 0 {
		p.Set("ErrorCode", strconv.Itoa(int(rec.errorCode)))
	}
	if rec.status == "delivered" || rec.status == "undelivered" {
		p.Set("RawDlrDoneDate", now.UTC().Format("0601021504")) // YYMMDDhhmm, no zone
	}
	return p
}

// post sends a signed form to Parley and returns its status and body.
func (c *Carrier) post(ctx context.Context, target, signedURL, token string, params url.Values) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(params.Encode()))
	if err != nil {
		return 0, "", fmt.Errorf("twiliotest: webhook %s: %w", target, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Sign(token, signedURL, params))
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("twiliotest: webhook %s: %w", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes)) // drain so the connection is reused
	if err != nil {
		return resp.StatusCode, string(body), fmt.Errorf("twiliotest: webhook %s: reading answer: %w", target, err)
	}
	return resp.StatusCode, string(body), nil
}
