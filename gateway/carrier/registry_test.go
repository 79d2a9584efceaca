package carrier_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// fakeAdapter records what the registry hands it.
type fakeAdapter struct {
	name string
	sent []campaigns.OutboundText
}

func (f *fakeAdapter) Name() string        { return f.name }
func (f *fakeAdapter) MaxBodyBytes() int64 { return 1 << 10 }
func (f *fakeAdapter) ReadWebhook(*http.Request, *carrier.Webhook) error {
	return nil
}
func (f *fakeAdapter) Authenticate(*carrier.Webhook, conversations.Channel, time.Time) error {
	return nil
}
func (f *fakeAdapter) Parse(*carrier.Webhook) (carrier.Report, error)        { return carrier.Report{}, nil }
func (f *fakeAdapter) Acknowledge(http.ResponseWriter, *carrier.Webhook)     {}
func (f *fakeAdapter) CheckChannel(*conversations.Channel) map[string]string { return nil }
func (f *fakeAdapter) VerifyChannel(context.Context, conversations.Channel) error {
	return nil
}
func (f *fakeAdapter) Send(_ context.Context, t campaigns.OutboundText) (campaigns.SendResult, error) {
	f.sent = append(f.sent, t)
	return campaigns.SendResult{CarrierMessageID: f.name + "-1"}, nil
}
func (f *fakeAdapter) Lookup(context.Context, campaigns.OutboundText, time.Time) (campaigns.SendResult, bool, error) {
	return campaigns.SendResult{}, false, nil
}
func (f *fakeAdapter) CheckStatus(context.Context, campaigns.OutboundText, string) (campaigns.CarrierStatus, error) {
	return campaigns.CarrierStatus{Status: conversations.MessageDelivered}, nil
}

// Each text goes to its own carrier, with that carrier's status URL: the
// account in the path for every carrier but Twilio.
func TestRegistrySendsThroughTheTextsCarrier(t *testing.T) {
	tw, tx := &fakeAdapter{name: "twilio"}, &fakeAdapter{name: "telnyx"}
	r := carrier.NewRegistry("https://parley.example/", tw, tx)
	for _, tt := range []struct {
		text campaigns.OutboundText
		via  *fakeAdapter
		want string
	}{
		{campaigns.OutboundText{Carrier: "twilio", CarrierAccountID: "AC1"}, tw, "https://parley.example/webhooks/twilio/status"},
		{campaigns.OutboundText{Carrier: "telnyx", CarrierAccountID: "4001 profile"}, tx, "https://parley.example/webhooks/telnyx/4001%20profile/status"},
	} {
		res, err := r.Send(context.Background(), tt.text)
		if err != nil || res.CarrierMessageID != tt.via.name+"-1" {
			t.Fatalf("Send(%s) = %+v, %v", tt.text.Carrier, res, err)
		}
		if got := tt.via.sent[len(tt.via.sent)-1].StatusCallbackURL; got != tt.want {
			t.Errorf("%s: status URL %q, want %q", tt.text.Carrier, got, tt.want)
		}
	}
	if len(tw.sent) != 1 || len(tx.sent) != 1 {
		t.Errorf("twilio got %d texts, telnyx %d; want one each", len(tw.sent), len(tx.sent))
	}
	if _, err := r.Send(context.Background(), campaigns.OutboundText{Carrier: "pigeon"}); err == nil {
		t.Error("a text for a carrier with no adapter was sent")
	}
	if _, err := r.CheckStatus(context.Background(), campaigns.OutboundText{}, "x"); err == nil {
		t.Error("a status check naming no carrier was answered")
	}
}

// A channel on a carrier Parley does not speak is refused, naming the
// carriers it does.
func TestRegistryRefusesUnknownCarriers(t *testing.T) {
	r := carrier.NewRegistry("https://parley.example", &fakeAdapter{name: "twilio"}, &fakeAdapter{name: "bird"})
	bad := r.CheckChannel(&conversations.Channel{Carrier: "pigeon"})
	if !strings.Contains(bad["carrier"], "bird, twilio") {
		t.Errorf("CheckChannel(pigeon) = %v; want the carrier field listing bird, twilio", bad)
	}
	if bad := r.CheckChannel(&conversations.Channel{Carrier: "bird"}); len(bad) != 0 {
		t.Errorf("CheckChannel(bird) = %v; want the adapter's answer", bad)
	}
	if err := r.VerifyChannel(context.Background(), conversations.Channel{Carrier: "pigeon"}); err == nil {
		t.Error("a channel on an unknown carrier was verified")
	}
}
