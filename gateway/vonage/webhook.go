package vonage

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// decoded is a webhook as ReadWebhook read it: the SMS API's parameters,
// or the Messages API's event.
type decoded struct {
	params map[string]string
	event  *event
}

// event is a Messages API inbound text or status.
type event struct {
	MessageUUID string `json:"message_uuid"`
	To          string `json:"to"`
	From        string `json:"from"`
	Channel     string `json:"channel"`
	MessageType string `json:"message_type"`
	Text        string `json:"text"`
	Image       *struct {
		URL     string `json:"url"`
		Caption string `json:"caption"`
	} `json:"image"`
	Status    string `json:"status"`
	ClientRef string `json:"client_ref"`
	SMS       struct {
		NumMessages string `json:"num_messages"`
	} `json:"sms"`
	Error *struct {
		Title  json.RawMessage `json:"title"`
		Detail string          `json:"detail"`
	} `json:"error"`
}

// DeliversByGET: the SMS API's webhooks come by GET when the account
// is set so (the Messages API's are JSON POSTs).
func (*Adapter) DeliversByGET() {}

// ReadWebhook reads a form or JSON body and takes the API key from the
// URL (/webhooks/vonage/{api key}/…), and for an inbound text its To
// number. Either kind may arrive at either URL: a body with a status is
// a receipt.
func (*Adapter) ReadWebhook(r *http.Request, w *carrier.Webhook) error {
	if w.Key == "" {
		return parley.Errorf(parley.ENOTFOUND, "Vonage's webhook URLs name the API key: /webhooks/vonage/{api key}/messages")
	}
	w.AccountID = w.Key
	d := &decoded{}
	var err error
	if isJSON(r.Header.Get("Content-Type")) {
		w.Body, err = carrier.ReadBody(r, MaxBodyBytes)
		if err == nil {
			err = decodeJSON(w.Body, d)
		}
	} else {
		d.params, w.Body, err = readForm(r)
	}
	if err != nil {
		return err
	}
	w.Decoded = d
	if d.event != nil {
		w.Inbound, w.To = d.event.Status == "", d.event.To
	} else {
		if key := d.params["api-key"]; key != "" && key != w.Key {
			return parley.Errorf(parley.ENOTFOUND, "the webhook's api-key is not the one its URL names")
		}
		w.Inbound, w.To = d.params["status"] == "", d.params["to"]
	}
	if !w.Inbound {
		return nil
	}
	if w.To, err = conversations.NormalizePhone("+" + strings.TrimPrefix(w.To, "+")); err != nil {
		return parley.Errorf(parley.ENOTFOUND, "no channel for this text's to number")
	}
	return nil
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// decodeJSON reads the Messages API's event (it has a message_uuid) or
// the SMS API's parameters sent as JSON (POST-JSON), strings or numbers.
func decodeJSON(body []byte, d *decoded) error {
	var fields map[string]json.RawMessage
	if err := carrier.DecodeJSON(body, &fields); err != nil {
		return err
	}
	if _, ok := fields["message_uuid"]; ok {
		d.event = &event{}
		return carrier.DecodeJSON(body, d.event)
	}
	d.params = make(map[string]string, len(fields))
	for k, raw := range fields {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			d.params[k] = s
			continue
		}
		if v := bytes.TrimSpace(raw); len(v) > 0 && v[0] != '{' && v[0] != '[' && v[0] != '"' {
			d.params[k] = string(v) // a number or a boolean, signed as written
			continue
		}
		return parley.Errorf(parley.EMALFORMED, "the SMS API's parameter %q is not a string or a number", k)
	}
	return nil
}

// readForm reads the form, one value a parameter.
func readForm(r *http.Request) (map[string]string, []byte, error) {
	form, err := carrier.ReadParams(r, MaxBodyBytes)
	if err != nil {
		return nil, nil, err
	}
	params := make(map[string]string, len(form))
	for k, v := range form {
		if len(v) != 1 {
			return nil, nil, parley.Errorf(parley.EMALFORMED, "the parameter %q is given %d times", k, len(v))
		}
		params[k] = v[0]
	}
	return params, []byte(form.Encode()), nil
}

// Authenticate checks the SMS API's sig with the channel's signature
// secret and method, and its timestamp; or the Messages API's JWT and the
// body hash it carries. Missing, forged or stale: EFORBIDDEN, except a
// Messages API callback with no token at all: EUNAVAILABLE (503), so that
// Vonage sends it again rather than drop it (CARRIERS.md §3).
func (*Adapter) Authenticate(w *carrier.Webhook, ch conversations.Channel, now time.Time) error {
	d := w.Decoded.(*decoded)
	if ch.WebhookSecret == "" {
		return parley.Errorf(parley.EFORBIDDEN, "the channel has no Vonage signature secret to check this webhook with")
	}
	if d.event != nil {
		return checkJWT(w, ch, now)
	}
	if d.params["sig"] == "" {
		return parley.Errorf(parley.EFORBIDDEN, "the webhook is not signed: ask Vonage to sign this account's webhooks")
	}
	if err := carrier.CheckTimestamp("timestamp parameter", d.params["timestamp"], now); err != nil {
		return err
	}
	if !validSignature(d.params, ch.WebhookSecret, ch.Options[OptionSignatureMethod]) {
		return parley.Errorf(parley.EFORBIDDEN, "the webhook's sig does not match its parameters signed with this channel's signature secret")
	}
	return nil
}

// checkJWT verifies the Messages API's bearer token: HS256 with the
// signature secret, issued within the replay window, for this API key,
// over this body.
func checkJWT(w *carrier.Webhook, ch conversations.Channel, now time.Time) error {
	raw, ok := strings.CutPrefix(w.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return parley.Errorf(parley.EUNAVAILABLE, "the Messages API webhook carries no bearer token: nothing was stored, and Vonage will send it again; turn on signed webhooks")
	}
	var claims struct {
		jwt.RegisteredClaims
		PayloadHash string `json:"payload_hash"`
		APIKey      string `json:"api_key"`
	}
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return []byte(ch.WebhookSecret), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(func() time.Time { return now }), jwt.WithIssuedAt(),
		jwt.WithLeeway(carrier.ReplayWindow))
	if err != nil {
		return parley.Errorf(parley.EFORBIDDEN, "the webhook's token is not signed with this channel's signature secret, or is not current: %v", err)
	}
	if claims.IssuedAt == nil || now.Sub(claims.IssuedAt.Time).Abs() > carrier.ReplayWindow {
		return parley.Errorf(parley.EFORBIDDEN, "the webhook's token was not issued within %s of now", carrier.ReplayWindow)
	}
	if claims.APIKey != "" && claims.APIKey != ch.CarrierAccountID {
		return parley.Errorf(parley.EFORBIDDEN, "the webhook's token is for another API key")
	}
	sum := sha256.Sum256(w.Body)
	if !hmac.Equal([]byte(strings.ToLower(claims.PayloadHash)), []byte(hex.EncodeToString(sum[:]))) {
		return parley.Errorf(parley.EFORBIDDEN, "the webhook's body is not the one its token signed (payload_hash)")
	}
	return nil
}

// Parse reads an inbound text (a part of one, or a binary message Parley
// drops) or a receipt.
func (*Adapter) Parse(w *carrier.Webhook) (carrier.Report, error) {
	d := w.Decoded.(*decoded)
	bad := map[string]string{}
	var rep carrier.Report
	switch {
	case d.event != nil && w.Inbound:
		rep.Texts = append(rep.Texts, messagesText(d.event, w.To, bad))
	case d.event != nil:
		if rc, ok := messagesReceipt(d.event, bad); ok {
			rep.Statuses = append(rep.Statuses, rc)
		}
	case w.Inbound:
		if t, ok := smsText(d.params, w.To, bad); ok {
			rep.Texts = append(rep.Texts, t)
		}
	default:
		if rc, ok := smsReceipt(d.params, bad); ok {
			rep.Statuses = append(rep.Statuses, rc)
		}
	}
	if len(bad) > 0 {
		return carrier.Report{}, parley.Invalid(bad)
	}
	return rep, nil
}

// smsText is an SMS API inbound text; a binary one (no text) is dropped.
func smsText(p map[string]string, to string, bad map[string]string) (conversations.InboundText, bool) {
	t := conversations.InboundText{CarrierMessageID: p["messageId"], To: to, Body: p["text"], Segments: 1}
	checkID(t.CarrierMessageID, "messageId", bad)
	t.From = sender(p["msisdn"], "msisdn", bad)
	if why := carrier.BadText(t.Body); why != "" {
		bad["text"] = why
	}
	if p["concat"] == "true" {
		t.Part = part(p, bad)
	}
	return t, p["type"] != "binary"
}

// part reads a concatenated text's part: its reference, number and total.
func part(p map[string]string, bad map[string]string) *conversations.TextPart {
	number, err1 := strconv.Atoi(p["concat-part"])
	total, err2 := strconv.Atoi(p["concat-total"])
	ref := p["concat-ref"]
	if err1 != nil || err2 != nil || total < 2 || total > conversations.MaxTextParts || number < 1 || number > total {
		bad["concat-part"] = fmt.Sprintf("must be a part from 1 to concat-total, which is from 2 to %d", conversations.MaxTextParts)
	}
	if ref == "" || len(ref) > 64 || carrier.BadText(ref) != "" {
		bad["concat-ref"] = "is required for a concatenated text"
	}
	return &conversations.TextPart{Ref: ref, Number: number, Total: total}
}

// smsReceipt is an SMS API delivery receipt: for a text Parley sent, its
// client-ref is the text's carrier id (every part's receipt carries it).
func smsReceipt(p map[string]string, bad map[string]string) (carrier.Receipt, bool) {
	id := p["client-ref"]
	if !strings.HasPrefix(id, ClientRefPrefix) {
		id = p["messageId"]
	}
	checkID(id, "messageId", bad)
	st, ok := dlrStatuses[p["status"]]
	rc := carrier.Receipt{CarrierMessageID: id, Status: st}
	if code := p["err-code"]; code != "" {
		n, err := strconv.Atoi(code)
		if err != nil || n < 0 {
			bad["err-code"] = "must be a number"
		}
		rc.ErrorCode = n
	}
	rc.Unsubscribed = rc.ErrorCode == CodeUnsubscribed && carrier.FailedForGood(rc.Status)
	return rc, ok
}

// CodeUnsubscribed is the receipts' err-code 9, "Illegal Number": the
// recipient asked not to receive messages from the sender.
const CodeUnsubscribed = 9

// dlrStatuses maps a delivery receipt's status. "failed" is a text the
// network could not deliver; "rejected" one Vonage or the network
// refused to send; "unknown" says nothing and is dropped.
var dlrStatuses = map[string]conversations.MessageStatus{
	"accepted":  conversations.MessageSent,
	"buffered":  conversations.MessageSent,
	"delivered": conversations.MessageDelivered,
	"expired":   conversations.MessageUndelivered,
	"failed":    conversations.MessageUndelivered,
	"rejected":  conversations.MessageFailed,
}

// messagesText is a Messages API inbound text (the API delivers a long
// one whole); an image's caption is its body.
func messagesText(e *event, to string, bad map[string]string) conversations.InboundText {
	t := conversations.InboundText{CarrierMessageID: e.MessageUUID, To: to, Body: e.Text, Segments: 1}
	checkID(t.CarrierMessageID, "message_uuid", bad)
	t.From = phone(e.From, "from", bad)
	if n, err := strconv.Atoi(e.SMS.NumMessages); err == nil && n > 1 {
		t.Segments = n
	}
	if e.Image != nil {
		if !carrier.IsMediaURL(e.Image.URL) {
			bad["image.url"] = "is not an http or https URL"
		}
		t.MediaURLs, t.Body = []string{e.Image.URL}, e.Image.Caption
	}
	if why := carrier.BadText(t.Body); why != "" {
		bad["text"] = why
	}
	return t
}

// messagesReceipt is a Messages API status; "read" and statuses Vonage
// adds later are dropped.
func messagesReceipt(e *event, bad map[string]string) (carrier.Receipt, bool) {
	id := e.ClientRef
	if !strings.HasPrefix(id, ClientRefPrefix) {
		id = e.MessageUUID
	}
	checkID(id, "message_uuid", bad)
	st, ok := messagesStatuses[e.Status]
	rc := carrier.Receipt{CarrierMessageID: id, Status: st}
	if e.Error != nil {
		var title string
		if json.Unmarshal(e.Error.Title, &title) != nil {
			title = string(e.Error.Title)
		}
		rc.ErrorCode, _ = strconv.Atoi(title)
	}
	return rc, ok
}

var messagesStatuses = map[string]conversations.MessageStatus{
	"submitted":     conversations.MessageSent,
	"delivered":     conversations.MessageDelivered,
	"rejected":      conversations.MessageFailed,
	"undeliverable": conversations.MessageUndelivered,
}

func checkID(id, field string, bad map[string]string) {
	if id == "" || len(id) > 128 || carrier.BadText(id) != "" {
		bad[field] = "is required: Vonage's message id"
	}
}

// sender is the SMS API's msisdn: a number without its "+", or a short
// code or sender ID (conversations.NormalizeSender).
func sender(raw, field string, bad map[string]string) string {
	p, err := conversations.NormalizeIntlSender(raw)
	if err != nil {
		bad[field] = "is not a phone number, short code or sender ID"
	}
	return p
}

// phone reads a number Vonage writes without its +.
func phone(digits, field string, bad map[string]string) string {
	p, err := conversations.NormalizePhone("+" + strings.TrimPrefix(digits, "+"))
	if err != nil {
		bad[field] = "is not a phone number Parley can answer"
	}
	return p
}

// Acknowledge answers 200 with no body: anything but 200 or 204 has
// Vonage resend for a day.
func (*Adapter) Acknowledge(rw http.ResponseWriter, _ *carrier.Webhook) {
	rw.WriteHeader(http.StatusOK)
}
