package twilio

import (
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// Adapter is Twilio behind carrier.Adapter: the Sender for the API, the
// functions of this package for the webhooks.
type Adapter struct{ *Sender }

var _ carrier.Adapter = Adapter{}

// Name is "twilio".
func (Adapter) Name() string { return conversations.CarrierTwilio }

// MaxBodyBytes bounds a webhook's body (see the constant).
func (Adapter) MaxBodyBytes() int64 { return MaxBodyBytes }

var (
	accountSID = regexp.MustCompile(`^AC[0-9A-Za-z]{32}$`)
	serviceSID = regexp.MustCompile(`^MG[0-9A-Za-z]{32}$`)
)

// CheckChannel checks the Account SID and the Messaging Service SID.
// Twilio signs webhooks with the auth token: a webhook secret or options
// mean nothing to it.
func (Adapter) CheckChannel(c *conversations.Channel) map[string]string {
	bad := map[string]string{}
	if c.MessagingServiceSID != "" && !serviceSID.MatchString(c.MessagingServiceSID) {
		bad["messaging_service_sid"] = "must be a Twilio Messaging Service SID (MG followed by 32 characters)"
	}
	if !accountSID.MatchString(c.CarrierAccountID) {
		bad["account_sid"] = "must be a Twilio Account SID (AC followed by 32 characters)"
	}
	if c.WebhookSecret != "" {
		bad["webhook_secret"] = "is not used by Twilio, which signs with the auth token"
	}
	if len(c.Options) > 0 {
		bad["options"] = "are not used by Twilio"
	}
	return bad
}

// DeliversByGET: a Twilio number's webhook method can be set to GET.
func (Adapter) DeliversByGET() {}

// ReadWebhook reads the form, or a GET's query (ReadForm), and
// the AccountSid, To and MessagingServiceSid that find the channel. Its
// URLs name no account.
func (Adapter) ReadWebhook(r *http.Request, w *carrier.Webhook) error {
	if w.Key != "" {
		return parley.Errorf(parley.ENOTFOUND, "Twilio's webhook URLs are /webhooks/twilio/messages and /webhooks/twilio/status")
	}
	form, err := ReadForm(r)
	if err != nil {
		return err
	}
	w.Decoded = form
	w.AccountID, w.ServiceID = form.Get("AccountSid"), form.Get("MessagingServiceSid")
	w.Inbound = w.Kind == carrier.Messages
	if w.Inbound {
		to, err := conversations.NormalizePhone(form.Get("To"))
		if err != nil && w.ServiceID == "" {
			return parley.Errorf(parley.ENOTFOUND, "no channel for this To number")
		}
		w.To = to
	}
	return nil
}

// Authenticate checks X-Twilio-Signature with the channel's auth token:
// over the URL and the posted parameters, or a GET's URL alone, which
// holds them.
func (Adapter) Authenticate(w *carrier.Webhook, ch conversations.Channel, _ time.Time) error {
	params := w.Decoded.(url.Values)
	if w.Method == http.MethodGet {
		params = nil
	}
	if !VerifySignature(ch.AuthToken, w.URL, params, w.Header.Get("X-Twilio-Signature")) {
		return parley.Errorf(parley.EFORBIDDEN, "the X-Twilio-Signature header is missing or wrong")
	}
	return nil
}

// Parse reads an inbound text (ParseInbound) or a status callback
// (ParseStatus).
func (Adapter) Parse(w *carrier.Webhook) (carrier.Report, error) {
	form := w.Decoded.(url.Values)
	if w.Inbound {
		in, err := ParseInbound(form)
		if err != nil {
			return carrier.Report{}, err
		}
		return carrier.Report{Texts: []conversations.InboundText{{CarrierMessageID: in.MessageSid, From: in.From, To: in.To,
			Body: in.Body, MediaURLs: mediaURLs(in.Media), Segments: in.NumSegments}}}, nil
	}
	st, err := ParseStatus(form)
	if err != nil {
		return carrier.Report{}, err
	}
	status := conversations.MessageStatus(MessageStatus(st.MessageStatus))
	// A Messaging Service fails a text to an unsubscribed phone after
	// taking it: 21610 comes in the callback, not the send's answer.
	return carrier.Report{Statuses: []carrier.Receipt{{CarrierMessageID: st.MessageSid,
		Status: status, ErrorCode: st.ErrorCode, Unsubscribed: unsubscribedFailure(status, st.ErrorCode)}}}, nil
}

func mediaURLs(media []Media) []string {
	urls := make([]string, len(media))
	for i, m := range media {
		urls[i] = m.URL
	}
	return urls
}

// Acknowledge answers an inbound text with empty TwiML (no reply from
// Twilio's side) and a status callback with an empty 200.
func (Adapter) Acknowledge(rw http.ResponseWriter, w *carrier.Webhook) {
	if w.Inbound {
		rw.Header().Set("Content-Type", "text/xml; charset=utf-8")
		rw.WriteHeader(http.StatusOK)
		_, _ = rw.Write([]byte(EmptyTwiML))
		return
	}
	rw.WriteHeader(http.StatusOK)
}
