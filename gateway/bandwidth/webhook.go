package bandwidth

import (
	"cmp"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// event is one callback of the array Bandwidth posts.
type event struct {
	Type        string  `json:"type"`
	Time        string  `json:"time"`
	Description string  `json:"description"`
	To          string  `json:"to"`
	ErrorCode   int     `json:"errorCode"`
	Message     message `json:"message"`
}

type message struct {
	ID            string   `json:"id"`
	Owner         string   `json:"owner"`
	ApplicationID string   `json:"applicationId"`
	SegmentCount  int      `json:"segmentCount"`
	Direction     string   `json:"direction"`
	To            []string `json:"to"`
	From          string   `json:"from"`
	Text          string   `json:"text"`
	Media         []string `json:"media"`
	Tag           string   `json:"tag"`
}

// The callback types.
const (
	typeReceived  = "message-received"
	typeSending   = "message-sending"
	typeDelivered = "message-delivered"
	typeFailed    = "message-failed"
)

// decoded is a callback as ReadWebhook read it.
type decoded struct {
	token  string
	events []event
}

// MaxEvents bounds the events of one callback.
const MaxEvents = 100

// ReadWebhook reads the array of events, and from the URL the account and
// the channel's token (/webhooks/bandwidth/{account}.{token}/…).
func (*Adapter) ReadWebhook(r *http.Request, w *carrier.Webhook) error {
	account, tok, ok := strings.Cut(w.Key, ".")
	if !ok || account == "" || tok == "" {
		return parley.Errorf(parley.ENOTFOUND, "Bandwidth's webhook URLs name the account and the channel's token: use the channel's inbound_webhook_url")
	}
	body, err := carrier.ReadBody(r, MaxBodyBytes)
	if err != nil {
		return err
	}
	var events []event
	if err := carrier.DecodeJSON(body, &events); err != nil {
		return err
	}
	if len(events) == 0 || len(events) > MaxEvents {
		return parley.Errorf(parley.EMALFORMED, "a Bandwidth callback is an array of 1 to %d events", MaxEvents)
	}
	w.Body, w.Decoded, w.AccountID = body, &decoded{token: tok, events: events}, account
	for _, e := range events {
		if (e.Type == typeReceived) != (events[0].Type == typeReceived) {
			return parley.Errorf(parley.EMALFORMED, "the callback mixes inbound texts and receipts, which Bandwidth sends to different URLs")
		}
	}
	if events[0].Type != typeReceived {
		return nil
	}
	w.Inbound = true
	if w.To, err = conversations.NormalizePhone(cmp.Or(events[0].To, events[0].Message.Owner)); err != nil {
		return parley.Errorf(parley.ENOTFOUND, "no channel for this text's to number")
	}
	return nil
}

// Authenticate checks the basic-auth credentials Bandwidth sends
// (EUNAUTHENTICATED: the gateway answers 401 with the Basic challenge) and
// the channel's token in the URL (EFORBIDDEN).
func (*Adapter) Authenticate(w *carrier.Webhook, ch conversations.Channel, _ time.Time) error {
	user, pass, ok := basicAuth(w.Header.Get("Authorization"))
	if !ok {
		return parley.Errorf(parley.EUNAUTHENTICATED, "Bandwidth's callback credentials are missing")
	}
	if !same(user, ch.Options[OptionWebhookUsername]) || !same(pass, ch.WebhookSecret) {
		return parley.Errorf(parley.EUNAUTHENTICATED, "Bandwidth's callback credentials are wrong")
	}
	if !same(w.Decoded.(*decoded).token, ch.Options[OptionWebhookToken]) {
		return parley.Errorf(parley.EFORBIDDEN, "the URL's token is not this channel's")
	}
	return nil
}

func basicAuth(header string) (user, pass string, ok bool) {
	r := http.Request{Header: http.Header{"Authorization": {header}}}
	return r.BasicAuth()
}

func same(a, b string) bool {
	return b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Parse reads the events: texts, or receipts. Every bad field is named in
// one EINVALID, by the event's place.
func (*Adapter) Parse(w *carrier.Webhook) (carrier.Report, error) {
	var rep carrier.Report
	bad := map[string]string{}
	for i, e := range w.Decoded.(*decoded).events {
		at := "[" + strconv.Itoa(i) + "]"
		if e.Message.ID == "" || len(e.Message.ID) > 128 || carrier.BadText(e.Message.ID) != "" {
			bad[at+".message.id"] = "is required: Bandwidth's message id"
			continue
		}
		switch e.Type {
		case typeReceived:
			rep.Texts = append(rep.Texts, inbound(e, at, bad))
		case typeSending, typeDelivered, typeFailed:
			rc := carrier.Receipt{CarrierMessageID: e.Message.ID, Status: statuses[e.Type], ErrorCode: e.ErrorCode}
			rc.Unsubscribed = rc.ErrorCode == CodeUnsubscribed && carrier.FailedForGood(rc.Status)
			rep.Statuses = append(rep.Statuses, rc)
		default:
			// message-read and types Bandwidth adds later: nothing to do.
		}
	}
	if len(bad) > 0 {
		return carrier.Report{}, parley.Invalid(bad)
	}
	return rep, nil
}

func inbound(e event, at string, bad map[string]string) conversations.InboundText {
	t := conversations.InboundText{CarrierMessageID: e.Message.ID, Body: e.Message.Text, Segments: max(e.Message.SegmentCount, 1)}
	var err error
	if t.From, err = conversations.NormalizeSender(e.Message.From); err != nil {
		bad[at+".message.from"] = "is not a phone number, short code or sender ID"
	}
	t.To, _ = conversations.NormalizePhone(cmp.Or(e.To, e.Message.Owner))
	if why := carrier.BadText(t.Body); why != "" {
		bad[at+".message.text"] = why
	}
	for j, m := range e.Message.Media {
		if j == carrier.MaxMedia {
			break
		}
		if !carrier.IsMediaURL(m) {
			bad[fmt.Sprintf("%s.message.media[%d]", at, j)] = "is not an http or https URL"
			continue
		}
		t.MediaURLs = append(t.MediaURLs, m)
	}
	return t
}

// CodeUnsubscribed is Bandwidth's 4775, "Carrier Rejected due to user opt
// out".
const CodeUnsubscribed = 4775

// statuses maps the receipt types to Parley's statuses.
var statuses = map[string]conversations.MessageStatus{
	typeSending:   conversations.MessageSending,
	typeDelivered: conversations.MessageDelivered,
	typeFailed:    conversations.MessageFailed,
}

// Acknowledge answers 200 with no body.
func (*Adapter) Acknowledge(rw http.ResponseWriter, _ *carrier.Webhook) {
	rw.WriteHeader(http.StatusOK)
}
