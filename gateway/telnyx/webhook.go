package telnyx

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// The headers of a signed webhook.
const (
	SignatureHeader = "Telnyx-Signature-Ed25519"
	TimestampHeader = "Telnyx-Timestamp"
)

var (
	errNotBase64 = errors.New("it is not base64")
	errKeySize   = fmt.Errorf("it is not %d bytes", ed25519.PublicKeySize)
)

// event is a webhook: {"data": {"event_type", "id", "payload"}, "meta"}.
type event struct {
	Data struct {
		ID        string  `json:"id"`
		EventType string  `json:"event_type"`
		Payload   message `json:"payload"`
	} `json:"data"`
}

// message is a webhook's payload, and the API's message resource.
type message struct {
	ID                 string    `json:"id"`
	Direction          string    `json:"direction"`
	MessagingProfileID string    `json:"messaging_profile_id"`
	From               address   `json:"from"`
	To                 []address `json:"to"`
	Text               string    `json:"text"`
	Media              []struct {
		URL         string `json:"url"`
		ContentType string `json:"content_type"`
	} `json:"media"`
	Parts  int        `json:"parts"`
	Errors []apiError `json:"errors"`
}

type address struct {
	PhoneNumber string `json:"phone_number"`
	Status      string `json:"status"`
}

// apiError is one of Telnyx's errors; codes are digits in a string.
type apiError struct {
	Code   string `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

// The event types Parley reads. Others (a new kind of event) are
// authenticated, acknowledged and change nothing.
const (
	eventReceived  = "message.received"
	eventSent      = "message.sent"
	eventFinalized = "message.finalized"
)

// ReadWebhook decodes the event and takes the messaging profile from the
// URL, and for an inbound text its To number.
func (*Adapter) ReadWebhook(r *http.Request, w *carrier.Webhook) error {
	if w.Key == "" {
		return parley.Errorf(parley.ENOTFOUND, "Telnyx's webhook URLs name the messaging profile: /webhooks/telnyx/{profile id}/messages")
	}
	body, err := carrier.ReadBody(r, MaxBodyBytes)
	if err != nil {
		return err
	}
	var ev event
	if err := carrier.DecodeJSON(body, &ev); err != nil {
		return err
	}
	w.Body, w.Decoded, w.AccountID = body, &ev, strings.ToLower(w.Key)
	if ev.Data.EventType != eventReceived {
		return nil
	}
	w.Inbound = true
	if len(ev.Data.Payload.To) > 0 {
		w.To, _ = conversations.NormalizePhone(ev.Data.Payload.To[0].PhoneNumber)
	}
	if w.To == "" {
		return parley.Errorf(parley.ENOTFOUND, "no channel for this text's to number")
	}
	return nil
}

// Authenticate checks the Ed25519 signature of "timestamp|body" with the
// account's public key, and that the timestamp is within
// carrier.ReplayWindow of now.
func (*Adapter) Authenticate(w *carrier.Webhook, ch conversations.Channel, now time.Time) error {
	return Verify(ch.WebhookSecret, w.Header.Get(TimestampHeader), w.Header.Get(SignatureHeader), w.Body, now)
}

// Verify checks a Telnyx signature (base64) over timestamp|body with the
// base64 public key. Every refusal is EFORBIDDEN, saying why.
func Verify(publicKeyB64, timestamp, signature string, body []byte, now time.Time) error {
	if signature == "" {
		return parley.Errorf(parley.EFORBIDDEN, "the %s header is missing", SignatureHeader)
	}
	if err := carrier.CheckTimestamp(TimestampHeader, timestamp, now); err != nil {
		return err
	}
	key, err := publicKey(publicKeyB64)
	if err != nil {
		return parley.Errorf(parley.EFORBIDDEN, "the channel's Telnyx public key cannot check signatures: %v", err)
	}
	signed := make([]byte, 0, len(timestamp)+1+len(body))
	signed = append(append(append(signed, timestamp...), '|'), body...)
	return verifyWith(key, signed, signature)
}

// VerifyEd25519 checks a base64 Ed25519 signature of msg with a base64
// public key, as Verify does once it framed the message.
func VerifyEd25519(publicKeyB64 string, msg []byte, signature string) error {
	key, err := publicKey(publicKeyB64)
	if err != nil {
		return parley.Errorf(parley.EFORBIDDEN, "the public key cannot check signatures: %v", err)
	}
	return verifyWith(key, msg, signature)
}

func verifyWith(key ed25519.PublicKey, msg []byte, signature string) error {
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return parley.Errorf(parley.EFORBIDDEN, "the %s header is not a base64 Ed25519 signature", SignatureHeader)
	}
	if !ed25519.Verify(key, msg, sig) {
		return parley.Errorf(parley.EFORBIDDEN, "the %s header does not verify with the account's public key", SignatureHeader)
	}
	return nil
}

// Parse reads an inbound text or a status receipt. Every bad field is
// named in one EINVALID.
func (*Adapter) Parse(w *carrier.Webhook) (carrier.Report, error) {
	ev := w.Decoded.(*event)
	p := ev.Data.Payload
	bad := map[string]string{}
	if p.ID == "" {
		bad["data.payload.id"] = "is required"
	} else if why := carrier.BadText(p.ID); why != "" || len(p.ID) > 128 {
		bad["data.payload.id"] = "is not a Telnyx message id"
	}
	switch ev.Data.EventType {
	case eventReceived:
		text := inbound(p, bad)
		if len(bad) > 0 {
			return carrier.Report{}, parley.Invalid(bad)
		}
		return carrier.Report{Texts: []conversations.InboundText{text}}, nil
	case eventSent, eventFinalized:
		rc := receipt(p, bad)
		if len(bad) > 0 {
			return carrier.Report{}, parley.Invalid(bad)
		}
		return carrier.Report{Statuses: []carrier.Receipt{rc}}, nil
	}
	return carrier.Report{}, nil
}

// MaxMedia bounds the attachments read off one text.
const MaxMedia = 10

func inbound(p message, bad map[string]string) conversations.InboundText {
	t := conversations.InboundText{CarrierMessageID: p.ID, Body: p.Text, Segments: max(p.Parts, 1)}
	var err error
	if t.From, err = conversations.NormalizeSender(p.From.PhoneNumber); err != nil {
		bad["data.payload.from.phone_number"] = "is not a phone number, short code or sender ID"
	}
	if len(p.To) > 0 {
		t.To, _ = conversations.NormalizePhone(p.To[0].PhoneNumber)
	}
	if why := carrier.BadText(p.Text); why != "" {
		bad["data.payload.text"] = why
	}
	for i, m := range p.Media {
		if i == MaxMedia {
			break
		}
		if !carrier.IsMediaURL(m.URL) {
			bad["data.payload.media."+strconv.Itoa(i)+".url"] = "is not an http or https URL"
			continue
		}
		t.MediaURLs = append(t.MediaURLs, m.URL)
	}
	return t
}

// CodeUnsubscribed is Telnyx's "Blocked due to STOP message": the
// recipient opted out with Telnyx.
const CodeUnsubscribed = 40300

func receipt(p message, bad map[string]string) carrier.Receipt {
	rc := carrier.Receipt{CarrierMessageID: p.ID}
	if len(p.To) == 0 || p.To[0].Status == "" {
		bad["data.payload.to.0.status"] = "is required"
		return rc
	}
	st, ok := statuses[p.To[0].Status]
	if !ok {
		bad["data.payload.to.0.status"] = "is not a Telnyx message status"
		return rc
	}
	rc.Status = st
	rc.ErrorCode = errorCode(p.Errors)
	rc.Unsubscribed = rc.ErrorCode == CodeUnsubscribed && carrier.FailedForGood(st)
	return rc
}

// errorCode is the first error's code, 0 when there is none or it is not
// a number.
func errorCode(errs []apiError) int {
	if len(errs) == 0 {
		return 0
	}
	n, err := strconv.Atoi(errs[0].Code)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// statuses maps Telnyx's to[].status to Parley's. delivery_unconfirmed is
// final at Telnyx but says nothing of the handset: sent, as far as
// anyone knows.
var statuses = map[string]conversations.MessageStatus{
	"scheduled":            conversations.MessageQueued,
	"queued":               conversations.MessageQueued,
	"sending":              conversations.MessageSending,
	"sent":                 conversations.MessageSent,
	"delivered":            conversations.MessageDelivered,
	"delivery_unconfirmed": conversations.MessageSent,
	"sending_failed":       conversations.MessageFailed,
	"cancelled":            conversations.MessageFailed,
	"delivery_failed":      conversations.MessageUndelivered,
	"expired":              conversations.MessageUndelivered,
}

// Acknowledge answers 200 with no body.
func (*Adapter) Acknowledge(rw http.ResponseWriter, _ *carrier.Webhook) {
	rw.WriteHeader(http.StatusOK)
}
