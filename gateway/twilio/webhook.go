package twilio

import (
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"strings"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// Media is one attachment of an inbound MMS. URL points at Twilio's copy,
// which Twilio serves until the message is deleted.
type Media struct {
	URL         string
	ContentType string // as Twilio sent it, e.g. "image/jpeg"; "" when Twilio did not say
}

// Inbound is an inbound SMS or MMS, validated and normalised.
type Inbound struct {
	MessageSid          string
	AccountSid          string
	MessagingServiceSid string // "" when the number is not in a Messaging Service
	From, To            string // E.164
	Body                string // as sent; may be empty when the message carries media
	NumSegments         int    // at least 1; 1 when Twilio did not say
	Media               []Media
	RawFrom, RawTo      string // From and To exactly as Twilio sent them
}

// StatusCallback is a delivery receipt for an outbound message.
//
// From and To are informational and kept as Twilio sent them, without
// normalisation: a Messaging Service may send from a short code, and a
// receipt is matched by MessageSid alone, so rejecting it for its sender
// would only lose the status.
type StatusCallback struct {
	MessageSid          string
	AccountSid          string
	MessagingServiceSid string
	From, To            string
	MessageStatus       string // Twilio's status, lower case; map it with MessageStatus
	ErrorCode           int    // 0 when Twilio sent none
}

// ParseInbound validates and normalises an inbound message webhook.
//
// MessageSid (or its deprecated aliases SmsMessageSid and SmsSid),
// AccountSid, From and To are required. To must be a phone number; From
// may also be a short code or an alphanumeric sender ID
// (conversations.NormalizeSender). "whatsapp:" addresses are rejected:
// Parley handles SMS and MMS only. NumSegments is at least 1;
// NumMedia to 0, and MediaUrl{N} (an http or https URL) must be present for
// every N below it, up to MaxMedia: of a form claiming more, only the first
// MaxMedia are read. Parameters Parley does not use (geo fields,
// ApiVersion, WhatsApp's ProfileName, anything Twilio adds later) are
// ignored.
//
// Every bad field is named in one EINVALID *parley.Error.
func ParseInbound(form url.Values) (Inbound, error) {
	var in Inbound
	bad := map[string]string{}

	in.MessageSid = messageSid(form, bad)
	in.AccountSid = sid(form, "AccountSid", "AC", true, bad)
	in.MessagingServiceSid = sid(form, "MessagingServiceSid", "MG", false, bad)

	in.RawFrom, in.RawTo = form.Get("From"), form.Get("To")
	in.From = address(in.RawFrom, "From", conversations.NormalizeSender, bad)
	in.To = address(in.RawTo, "To", conversations.NormalizePhone, bad)

	in.Body = form.Get("Body")
	if why := carrier.BadText(in.Body); why != "" {
		bad["Body"] = why
	}

	// A message that arrived took at least one segment; Twilio sends 1 for
	// an MMS, and a missing or zero count reads the same way.
	in.NumSegments = 1
	if n, ok := count(form, "NumSegments", bad); ok && n > 0 {
		in.NumSegments = n
	}
	if n, ok := count(form, "NumMedia", bad); ok {
		in.Media = media(form, min(n, MaxMedia), bad)
	}

	if len(bad) > 0 {
		return Inbound{}, parley.Invalid(bad)
	}
	return in, nil
}

// twilioStatuses is Twilio's MessageEnumStatus (OpenAPI), mapped to
// Parley's message statuses.
var twilioStatuses = map[string]conversations.MessageStatus{
	"accepted":  conversations.MessageQueued, // a Messaging Service has it, sender not chosen yet
	"scheduled": conversations.MessageQueued, // waits for SendAt
	"queued":    conversations.MessageQueued,
	"sending":   conversations.MessageSending,
	"sent":      conversations.MessageSent,
	"delivered": conversations.MessageDelivered,
	// The handset got the text and the carrier reported more than Parley
	// tracks: read receipts and partly delivered messages are delivered.
	// partially_delivered is final, and calling it undelivered would invite
	// a resend of what the recipient already has.
	"read":                conversations.MessageDelivered,
	"partially_delivered": conversations.MessageDelivered,
	"undelivered":         conversations.MessageUndelivered,
	"failed":              conversations.MessageFailed,
	"canceled":            conversations.MessageFailed, // a scheduled text that will never be sent
	"receiving":           conversations.MessageReceived,
	"received":            conversations.MessageReceived,
}

// ParseStatus validates a status callback. MessageSid (or SmsSid),
// AccountSid and MessageStatus (or SmsStatus) are required; MessageStatus
// must be one of Twilio's documented statuses; ErrorCode, when present, is
// a non-negative integer.
//
// Every bad field is named in one EINVALID *parley.Error.
func ParseStatus(form url.Values) (StatusCallback, error) {
	var st StatusCallback
	bad := map[string]string{}

	st.MessageSid = messageSid(form, bad)
	st.AccountSid = sid(form, "AccountSid", "AC", true, bad)
	st.MessagingServiceSid = sid(form, "MessagingServiceSid", "MG", false, bad)
	st.From, st.To = form.Get("From"), form.Get("To")
	for _, f := range []string{"From", "To"} {
		if why := carrier.BadText(form.Get(f)); why != "" {
			bad[f] = why
		}
	}

	status := form.Get("MessageStatus")
	if status == "" {
		status = form.Get("SmsStatus")
	}
	st.MessageStatus = strings.ToLower(strings.TrimSpace(status))
	switch _, known := twilioStatuses[st.MessageStatus]; {
	case st.MessageStatus == "":
		bad["MessageStatus"] = "is required"
	case !known:
		bad["MessageStatus"] = "is not a Twilio message status"
	}

	if n, ok := count(form, "ErrorCode", bad); ok {
		st.ErrorCode = n
	}

	if len(bad) > 0 {
		return StatusCallback{}, parley.Invalid(bad)
	}
	return st, nil
}

// MessageStatus maps a Twilio status to Parley's message status:
// received, queued, sending, sent, delivered, undelivered, failed, or
// unknown for a status Twilio has not documented.
//
//	accepted, scheduled, queued  → queued
//	sending                      → sending
//	sent                         → sent
//	delivered, read,
//	partially_delivered          → delivered
//	undelivered                  → undelivered
//	failed, canceled             → failed
//	receiving, received          → received
func MessageStatus(twilioStatus string) string {
	if s, ok := twilioStatuses[strings.ToLower(strings.TrimSpace(twilioStatus))]; ok {
		return string(s)
	}
	return string(conversations.MessageUnknown)
}

// MaxMedia is the most attachments Twilio puts on one message.
const MaxMedia = 10

// maxSidLen is generous: Twilio SIDs are two letters and 32 hex digits.
const maxSidLen = 64

// messageSid returns MessageSid or, from older integrations, one of its
// deprecated aliases, which carry the same value.
func messageSid(form url.Values, bad map[string]string) string {
	for _, name := range []string{"MessageSid", "SmsMessageSid", "SmsSid"} {
		if v := form.Get(name); v != "" {
			if why := badSid(v, ""); why != "" {
				bad[name] = why
			}
			return v
		}
	}
	bad["MessageSid"] = "is required"
	return ""
}

// sid returns the SID in field name, which must start with prefix.
func sid(form url.Values, name, prefix string, required bool, bad map[string]string) string {
	v := form.Get(name)
	if v == "" {
		if required {
			bad[name] = "is required"
		}
		return ""
	}
	if why := badSid(v, prefix); why != "" {
		bad[name] = why
	}
	return v
}

// badSid says why v is not a Twilio SID, or "". It checks shape loosely,
// so that a new kind of SID still passes, but keeps out anything that
// could not be one.
func badSid(v, prefix string) string {
	if len(v) > maxSidLen {
		return "is too long to be a Twilio SID"
	}
	for _, c := range []byte(v) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return "is not a Twilio SID: it must be letters and digits"
		}
	}
	if !strings.HasPrefix(v, prefix) {
		return fmt.Sprintf("is not a Twilio SID: it must start with %q", prefix)
	}
	return ""
}

// address normalises the address in field name with normalize.
func address(raw, name string, normalize func(string) (string, error), bad map[string]string) string {
	if raw == "" {
		bad[name] = "is required"
		return ""
	}
	if strings.HasPrefix(strings.ToLower(raw), "whatsapp:") {
		bad[name] = "is a WhatsApp address; Parley handles SMS and MMS only"
		return ""
	}
	n, err := normalize(raw)
	if err != nil {
		bad[name] = "is not a phone number (or, sending, a short code or sender ID) in any form Parley accepts"
		return ""
	}
	return n
}

// count parses the optional non-negative integer in field name; ok is false
// when the field is bad. An absent or empty field is 0.
func count(form url.Values, name string, bad map[string]string) (n int, ok bool) {
	v := form.Get(name)
	if v == "" {
		return 0, true
	}
	i, err := strconv.ParseInt(v, 10, 32)
	if err != nil || i < 0 {
		bad[name] = "is not a non-negative whole number"
		return 0, false
	}
	return int(i), true
}

// media returns the first n attachments. It stops at the first one that is
// missing.
func media(form url.Values, n int, bad map[string]string) []Media {
	var ms []Media
	for i := range n {
		urlField := "MediaUrl" + strconv.Itoa(i)
		typeField := "MediaContentType" + strconv.Itoa(i)
		raw := form.Get(urlField)
		if raw == "" {
			bad[urlField] = fmt.Sprintf("is required: NumMedia is %d", n)
			return nil
		}
		if !carrier.IsMediaURL(raw) {
			bad[urlField] = "is not an http or https URL"
		}
		ct := form.Get(typeField)
		if ct != "" {
			if _, _, err := mime.ParseMediaType(ct); err != nil || carrier.BadText(ct) != "" {
				bad[typeField] = "is not a media type"
			}
		}
		ms = append(ms, Media{URL: raw, ContentType: ct})
	}
	return ms
}
