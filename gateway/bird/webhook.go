package bird

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// The headers of a signed webhook (Bird sends them in lower case:
// messagebird-signature, messagebird-request-timestamp).
const (
	SignatureHeader = "Messagebird-Signature"
	TimestampHeader = "Messagebird-Request-Timestamp"
)

// event is a webhook: {"service": "channels", "event", "payload"}.
type event struct {
	Service string  `json:"service"`
	Event   string  `json:"event"`
	Payload message `json:"payload"`
}

// message is a webhook's payload, and the API's message resource.
type message struct {
	ID        string `json:"id"`
	ChannelID string `json:"channelId"`
	Sender    party  `json:"sender"`
	Receiver  party  `json:"receiver"`
	Body      body   `json:"body"`
	// Parts are the SMS segments; only their number matters here, so
	// their shape is not read.
	Parts     []json.RawMessage `json:"parts"`
	Status    string            `json:"status"`
	Direction string            `json:"direction"`
	Failure   struct {
		Code failureCode `json:"code"`
	} `json:"failure"`
}

// party is a message's sender or receiver: a contact (the phone), the
// channel's connector, or a list of contacts (an outgoing message's
// receiver).
type party struct {
	Contact   identifier   `json:"contact"`
	Connector identifier   `json:"connector"`
	Contacts  []identifier `json:"contacts"`
}

type identifier struct {
	ID              string `json:"id"`
	IdentifierValue string `json:"identifierValue"`
}

// body is a message's content. Parley reads text, image and file bodies;
// other types (location, list, …) decode to an empty text.
type body struct {
	Type string `json:"type"`
	Text struct {
		Text string `json:"text"`
	} `json:"text"`
	Image struct {
		Text   string  `json:"text"`
		Images []media `json:"images"`
	} `json:"image"`
	File struct {
		Text  string  `json:"text"`
		Files []media `json:"files"`
	} `json:"file"`
}

type media struct {
	MediaURL string `json:"mediaUrl"`
}

// failureCode is Bird's failure.code, a number (15005); a code in a
// string is read too, and anything else is no code rather than a refused
// webhook, which Bird would retry for hours.
type failureCode int

func (c *failureCode) UnmarshalJSON(b []byte) error {
	n, err := strconv.Atoi(strings.Trim(string(b), `"`))
	if err != nil || n < 0 {
		n = 0
	}
	*c = failureCode(n)
	return nil
}

// The service and events Parley reads. Others (another service, a new
// kind of event) are authenticated, acknowledged and change nothing.
const (
	serviceChannels = "channels"
	eventInbound    = "sms.inbound"
	eventOutbound   = "sms.outbound"
)

func (ev *event) read() bool {
	return ev.Service == serviceChannels && (ev.Event == eventInbound || ev.Event == eventOutbound)
}

// ReadWebhook decodes the event and takes the channel from the URL, and
// for an inbound text the business number when the payload has it. Either
// event may come to either URL: the body says which it is.
func (*Adapter) ReadWebhook(r *http.Request, w *carrier.Webhook) error {
	if w.Key == "" {
		return parley.Errorf(parley.ENOTFOUND, "Bird's webhook URLs name the channel: /webhooks/bird/{channel id}/messages")
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
	if !ev.read() {
		return nil
	}
	// The URL picks the channel whose key authenticates the request; a
	// payload of another channel must not ride on it.
	if !strings.EqualFold(ev.Payload.ChannelID, w.Key) {
		return parley.Errorf(parley.ENOTFOUND, "the event's payload.channelId is not the Bird channel of this URL")
	}
	if ev.Event == eventInbound {
		w.Inbound = true
		w.To = businessNumber(ev.Payload)
	}
	return nil
}

// businessNumber is the number an inbound text went to, "" when the
// payload does not say: Bird's inbound payload names the channel's
// connector, often without its number, and the channel id in the URL then
// finds the channel alone.
func businessNumber(p message) string {
	raw := p.Receiver.Connector.IdentifierValue
	if raw == "" && len(p.Receiver.Contacts) > 0 {
		raw = p.Receiver.Contacts[0].IdentifierValue
	}
	n, err := conversations.NormalizePhone(raw)
	if err != nil {
		return ""
	}
	return n
}

// Authenticate checks the signature of the timestamp, the public URL and
// the body with the subscription's signing key, and that the timestamp is
// within carrier.ReplayWindow of now.
func (*Adapter) Authenticate(w *carrier.Webhook, ch conversations.Channel, now time.Time) error {
	return Verify(ch.WebhookSecret, w.Header.Get(TimestampHeader), w.Header.Get(SignatureHeader), w.URL, w.Body, now)
}

// Verify checks a Bird signature (base64) of a webhook posted to url.
// Every refusal is EFORBIDDEN, saying why.
func Verify(signingKey, timestamp, signature, url string, body []byte, now time.Time) error {
	if signature == "" {
		return parley.Errorf(parley.EFORBIDDEN, "the %s header is missing", SignatureHeader)
	}
	if err := checkTimestamp(timestamp, now); err != nil {
		return err
	}
	if signingKey == "" {
		return parley.Errorf(parley.EFORBIDDEN, "the channel has no Bird signing key to check signatures with")
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(got) != sha256.Size {
		return parley.Errorf(parley.EFORBIDDEN, "the %s header is not a base64 HMAC-SHA256", SignatureHeader)
	}
	if !hmac.Equal(got, mac(signingKey, timestamp, url, body)) {
		return parley.Errorf(parley.EFORBIDDEN, "the %s header does not verify with the channel's signing key over this URL", SignatureHeader)
	}
	return nil
}

// Sign is Bird's signature of a webhook body posted to url at timestamp:
// base64 of HMAC-SHA256, keyed with the signing key.
func Sign(signingKey, timestamp, url string, body []byte) string {
	return base64.StdEncoding.EncodeToString(mac(signingKey, timestamp, url, body))
}

// mac is HMAC-SHA256 of timestamp, URL and the body's SHA-256, joined by
// newlines. The hash goes in as its raw 32 bytes, not hex, as Bird's
// reference code does it.
func mac(signingKey, timestamp, url string, body []byte) []byte {
	sum := sha256.Sum256(body)
	h := hmac.New(sha256.New, []byte(signingKey))
	h.Write([]byte(timestamp + "\n" + url + "\n"))
	h.Write(sum[:])
	return h.Sum(nil)
}

// millis is where a timestamp must be in milliseconds: as seconds it
// would be some 30,000 years away, as milliseconds it is September 2001.
const millis = 1_000_000_000_000

// checkTimestamp refuses a timestamp outside carrier.ReplayWindow of now.
// Bird does not document its unit: seconds are read as such, and a value
// only milliseconds can be is read as milliseconds. The signature covers
// the header as sent, whichever it is.
func checkTimestamp(value string, now time.Time) error {
	if n, err := strconv.ParseInt(value, 10, 64); err == nil && n >= millis {
		value = strconv.FormatInt(n/1000, 10)
	}
	return carrier.CheckTimestamp(TimestampHeader, value, now)
}

// Parse reads an inbound text or a status receipt. Every bad field is
// named in one EINVALID.
func (*Adapter) Parse(w *carrier.Webhook) (carrier.Report, error) {
	ev := w.Decoded.(*event)
	if !ev.read() {
		return carrier.Report{}, nil
	}
	p := ev.Payload
	bad := map[string]string{}
	if p.ID == "" {
		bad["payload.id"] = "is required"
	} else if carrier.BadText(p.ID) != "" || len(p.ID) > 128 {
		bad["payload.id"] = "is not a Bird message id"
	}
	var rep carrier.Report
	if ev.Event == eventInbound {
		rep.Texts = []conversations.InboundText{inbound(p, bad)}
	} else if rc, ok := receipt(p, bad); ok {
		rep.Statuses = []carrier.Receipt{rc}
	}
	if len(bad) > 0 {
		return carrier.Report{}, parley.Invalid(bad)
	}
	return rep, nil
}

func inbound(p message, bad map[string]string) conversations.InboundText {
	t := conversations.InboundText{CarrierMessageID: p.ID, To: businessNumber(p), Segments: max(len(p.Parts), 1)}
	var err error
	if t.From, err = conversations.NormalizeSender(p.Sender.Contact.IdentifierValue); err != nil {
		bad["payload.sender.contact.identifierValue"] = "is not a phone number, short code or sender ID"
	}
	var field string
	t.Body, field = text(p.Body)
	if why := carrier.BadText(t.Body); why != "" {
		bad[field] = why
	}
	t.MediaURLs = mediaURLs(p.Body, bad)
	return t
}

// text is a body's text and where it was: an image or a file may carry
// one as its caption.
func text(b body) (string, string) {
	switch {
	case b.Text.Text != "":
		return b.Text.Text, "payload.body.text.text"
	case b.Image.Text != "":
		return b.Image.Text, "payload.body.image.text"
	case b.File.Text != "":
		return b.File.Text, "payload.body.file.text"
	}
	return "", "payload.body.text.text"
}

// mediaURLs are the attachments of an image or file body, at most
// carrier.MaxMedia. They are on Bird's media host, which wants the access
// key to hand them out.
func mediaURLs(b body, bad map[string]string) []string {
	var urls []string
	seen := 0
	for _, list := range []struct {
		field string
		items []media
	}{{"payload.body.image.images.", b.Image.Images}, {"payload.body.file.files.", b.File.Files}} {
		for i, m := range list.items {
			if seen == carrier.MaxMedia {
				return urls
			}
			seen++
			if !carrier.IsMediaURL(m.MediaURL) {
				bad[list.field+strconv.Itoa(i)+".mediaUrl"] = "is not an http or https URL"
				continue
			}
			urls = append(urls, m.MediaURL)
		}
	}
	return urls
}

// receipt reads an outgoing message's status; false for a status Parley
// does not track, which changes nothing.
//
// Unsubscribed is never set: Bird publishes no failure code meaning that
// the recipient opted out with Bird (its codes group errors across every
// channel), so a failed text records no opt-out.
func receipt(p message, bad map[string]string) (carrier.Receipt, bool) {
	if p.Status == "" {
		bad["payload.status"] = "is required"
		return carrier.Receipt{}, false
	}
	st, ok := statuses[p.Status]
	if !ok {
		return carrier.Receipt{}, false
	}
	return carrier.Receipt{CarrierMessageID: p.ID, Status: st, ErrorCode: int(p.Failure.Code)}, true
}

// statuses maps Bird's outgoing statuses to Parley's, as Telnyx's are: a
// text Bird could not hand to the SMS platform failed; one the platform
// could not deliver is undelivered. accepted is Bird holding the text,
// not yet sending it: queued.
var statuses = map[string]conversations.MessageStatus{
	"accepted":        conversations.MessageQueued,
	"sent":            conversations.MessageSent,
	"delivered":       conversations.MessageDelivered,
	"sending_failed":  conversations.MessageFailed,
	"delivery_failed": conversations.MessageUndelivered,
}

// Acknowledge answers 200 with no body. Bird retries anything else for
// eight hours.
func (*Adapter) Acknowledge(rw http.ResponseWriter, _ *carrier.Webhook) {
	rw.WriteHeader(http.StatusOK)
}
