package plivo

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
	"github.com/parleyhq/parley/optout"
)

// MaxMedia bounds the attachments read off one text.
const MaxMedia = 10

// DeliversByGET: a Plivo application's message method can be GET.
func (*Adapter) DeliversByGET() {}

// ReadWebhook reads the form, or a GET's query, and takes the Auth ID
// from the URL. A form with a Status is a receipt; one without, an
// inbound text, found by its To number.
func (*Adapter) ReadWebhook(r *http.Request, w *carrier.Webhook) error {
	if w.Key == "" {
		return parley.Errorf(parley.ENOTFOUND, "Plivo's webhook URLs name the Auth ID: /webhooks/plivo/{auth id}/messages")
	}
	form, err := carrier.ReadParams(r, MaxBodyBytes)
	if err != nil {
		return err
	}
	w.Decoded, w.AccountID = form, w.Key
	if form.Get("Status") != "" {
		return nil
	}
	w.Inbound = true
	if w.To, err = conversations.NormalizePhone(e164(form.Get("To"))); err != nil {
		return parley.Errorf(parley.ENOTFOUND, "no channel for this To number")
	}
	return nil
}

// Authenticate checks the V3 signature, or the V2 one, with the auth
// token. Plivo signs no timestamp: a replayed text is a duplicate of its
// MessageUUID, which the store drops. After V2, which signs no content,
// the webhook carries its nonce and a digest of the URL and the form for
// the gateway to bind.
func (*Adapter) Authenticate(w *carrier.Webhook, ch conversations.Channel, _ time.Time) error {
	form := w.Decoded.(url.Values)
	signed := form
	if w.Method == http.MethodGet {
		signed = nil // in the URL
	}
	nonce, err := verify(ch.AuthToken, w.URL, w.Method, signed, w.Header)
	if err != nil {
		return err
	}
	w.Nonce = nonce
	if nonce != "" {
		w.Content = sha256.Sum256([]byte(w.URL + "\n" + form.Encode()))
	}
	return nil
}

// Parse reads an inbound text or a status receipt. Every bad field is
// named in one EINVALID.
func (*Adapter) Parse(w *carrier.Webhook) (carrier.Report, error) {
	form := w.Decoded.(url.Values)
	bad := map[string]string{}
	id := form.Get("MessageUUID")
	switch {
	case id == "":
		bad["MessageUUID"] = "is required"
	case len(id) > 128 || carrier.BadText(id) != "":
		bad["MessageUUID"] = "is not a Plivo message UUID"
	}
	if !w.Inbound {
		rc := receipt(id, form.Get("Status"), form.Get("ErrorCode"), bad)
		if len(bad) > 0 {
			return carrier.Report{}, parley.Invalid(bad)
		}
		return carrier.Report{Statuses: []carrier.Receipt{rc}}, nil
	}
	text := inbound(id, form, bad)
	if len(bad) > 0 {
		return carrier.Report{}, parley.Invalid(bad)
	}
	return carrier.Report{Texts: []conversations.InboundText{text}}, nil
}

// messageIntents are Plivo's MessageIntent values: what its compliance
// keywords took an inbound text for. Anything else is no intent.
var messageIntents = map[string]optout.Intent{"optout": optout.IntentOptOut, "optin": optout.IntentOptIn, "help": optout.IntentHelp}

func inbound(id string, form url.Values, bad map[string]string) conversations.InboundText {
	t := conversations.InboundText{CarrierMessageID: id, Body: form.Get("Text"), Segments: 1}
	if t.Body == "" {
		t.Body = form.Get("Body") // an MMS's text
	}
	var err error
	if t.From, err = conversations.NormalizeIntlSender(form.Get("From")); err != nil {
		bad["From"] = "is not a phone number, short code or sender ID"
	}
	t.To, _ = conversations.NormalizePhone(e164(form.Get("To")))
	if why := carrier.BadText(t.Body); why != "" {
		bad["Text"] = why
	}
	if n, err := strconv.Atoi(form.Get("Units")); err == nil && n > 0 {
		t.Segments = n
	}
	t.CarrierIntent = messageIntents[strings.ToLower(form.Get("MessageIntent"))]
	// Plivo's documents number media from 1, a support article from 0:
	// both are read, up to MediaCount.
	count, _ := strconv.Atoi(form.Get("MediaCount"))
	for i := 0; i <= min(count, MaxMedia) && len(t.MediaURLs) < min(count, MaxMedia); i++ {
		field := "Media" + strconv.Itoa(i)
		raw := form.Get(field)
		if raw == "" {
			continue
		}
		if !carrier.IsMediaURL(raw) {
			bad[field] = "is not an http or https URL"
			continue
		}
		t.MediaURLs = append(t.MediaURLs, raw)
	}
	return t
}

// CodeUnsubscribed is Plivo's error for a text to a phone that sent STOP
// to the number: "Source number blocked by STOP from destination number".
const CodeUnsubscribed = 200

func receipt(id, status, code string, bad map[string]string) carrier.Receipt {
	rc := carrier.Receipt{CarrierMessageID: id}
	st, ok := statuses[strings.ToLower(status)]
	if !ok {
		bad["Status"] = fmt.Sprintf("%q is not a Plivo message status", status)
		return rc
	}
	rc.Status = st
	if code != "" {
		n, err := strconv.Atoi(code)
		if err != nil || n < 0 {
			bad["ErrorCode"] = "is not a non-negative whole number"
		}
		rc.ErrorCode = n
	}
	rc.Unsubscribed = rc.ErrorCode == CodeUnsubscribed && carrier.FailedForGood(st)
	return rc
}

// statuses maps Plivo's message states to Parley's; read (WhatsApp) is
// delivered, rejected failed.
var statuses = map[string]conversations.MessageStatus{
	"queued":      conversations.MessageQueued,
	"sent":        conversations.MessageSent,
	"delivered":   conversations.MessageDelivered,
	"read":        conversations.MessageDelivered,
	"undelivered": conversations.MessageUndelivered,
	"failed":      conversations.MessageFailed,
	"rejected":    conversations.MessageFailed,
}

// Acknowledge answers 200 with no body: Plivo sends no reply for it.
func (*Adapter) Acknowledge(rw http.ResponseWriter, _ *carrier.Webhook) {
	rw.WriteHeader(http.StatusOK)
}
