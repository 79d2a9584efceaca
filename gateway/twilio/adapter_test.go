package twilio_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
	"github.com/parleyhq/parley/gateway/twilio"
)

// A status callback failing a text with 21610 (a Messaging Service
// learns of the opt-out after taking the text) says the recipient
// unsubscribed; another code does not.
func TestAdapterReadsUnsubscribedCallbacks(t *testing.T) {
	for code, want := range map[string]bool{"21610": true, "30003": false} {
		form := url.Values{"MessageSid": {"SM" + strings.Repeat("a", 32)}, "AccountSid": {"AC" + strings.Repeat("b", 32)},
			"MessageStatus": {"failed"}, "ErrorCode": {code}}
		r := httptest.NewRequest(http.MethodPost, "/webhooks/twilio/status", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := &carrier.Webhook{Kind: carrier.Status, Header: r.Header}
		a := twilio.Adapter{}
		if err := a.ReadWebhook(r, w); err != nil {
			t.Fatal(err)
		}
		rep, err := a.Parse(w)
		if err != nil || len(rep.Statuses) != 1 || rep.Statuses[0].Status != conversations.MessageFailed || rep.Statuses[0].Unsubscribed != want {
			t.Errorf("code %s: %+v, %v; want failed, unsubscribed %v", code, rep, err, want)
		}
	}
}
