package bandwidth_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/bandwidth"
	"github.com/parleyhq/parley/gateway/bandwidth/bandwidthtest"
	"github.com/parleyhq/parley/gateway/carrier"
	"github.com/parleyhq/parley/gateway/carrier/carriertest"
)

const (
	account  = "9900001"
	app      = "93de2206-9669-4e07-948d-329f4b722ee2"
	token    = "0123456789abcdef0123456789abcdef01234567"
	cbUser   = "parley"
	cbPass   = "callback-password-0001"
	business = "+14155550199"
	optedOut = "+14155550111"
)

var channel = conversations.Channel{Carrier: "bandwidth", CarrierAccountID: account, PhoneNumber: business, AuthToken: "api-password",
	WebhookSecret: cbPass, Options: map[string]string{"application_id": app, "api_username": "parley-api", "webhook_username": cbUser, "webhook_token": token}}

func fixture(t testing.TB, name string) []byte { return carriertest.Fixture(t, "bandwidth", name) }

// read runs a callback through the adapter as the gateway does, with the
// channel's credentials unless user is "-".
func read(t testing.TB, key string, body []byte, user, pass string) (*carrier.Webhook, carrier.Report, error) {
	a := bandwidth.New("", 0)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/bandwidth/"+key+"/messages", bytes.NewReader(body))
	if user != "-" {
		r.SetBasicAuth(user, pass)
	}
	w := &carrier.Webhook{Kind: carrier.Messages, Header: r.Header, Key: key}
	if err := a.ReadWebhook(r, w); err != nil {
		return w, carrier.Report{}, err
	}
	if err := a.Authenticate(w, channel, time.Now()); err != nil {
		return w, carrier.Report{}, err
	}
	rep, err := a.Parse(w)
	return w, rep, err
}

func TestReadCallbacks(t *testing.T) {
	key := account + "." + token
	w, rep, err := read(t, key, fixture(t, "inbound_sms.json"), cbUser, cbPass)
	if err != nil || !w.Inbound || w.To != business || w.AccountID != account || len(rep.Texts) != 1 || rep.Texts[0].Body != "Hi" ||
		rep.Texts[0].From != "+14155550100" || rep.Texts[0].CarrierMessageID != "1589228074636lm4k2je7j7jklbn2" {
		t.Fatalf("inbound: %+v %+v %v", w, rep, err)
	}
	// Bandwidth batches: every text of the array is read.
	_, rep, err = read(t, key, fixture(t, "inbound_mms_two.json"), cbUser, cbPass)
	if err != nil || len(rep.Texts) != 2 || len(rep.Texts[0].MediaURLs) != 1 || rep.Texts[1].Body != "and the other one" {
		t.Errorf("two texts: %+v, %v", rep, err)
	}
	w, rep, err = read(t, key, fixture(t, "status_delivered_failed.json"), cbUser, cbPass)
	want := []carrier.Receipt{
		{CarrierMessageID: "14762070468292kw2fuqty55yp2b2", Status: conversations.MessageDelivered},
		{CarrierMessageID: "14762070468292kw2fuqty55yp2b3", Status: conversations.MessageFailed, ErrorCode: 4775, Unsubscribed: true},
	}
	if err != nil || w.Inbound || len(rep.Statuses) != 2 || rep.Statuses[0] != want[0] || rep.Statuses[1] != want[1] {
		t.Errorf("receipts: %+v, %v; want %+v", rep.Statuses, err, want)
	}
}

func TestRefuseBadCallbacks(t *testing.T) {
	sms := fixture(t, "inbound_sms.json")
	key := account + "." + token
	for _, tt := range []struct {
		name       string
		key        string
		body       []byte
		user, pass string
		kind       string
	}{
		{"no credentials", key, sms, "-", "", parley.EUNAUTHENTICATED},
		{"a wrong password", key, sms, cbUser, "guessed", parley.EUNAUTHENTICATED},
		{"a wrong user", key, sms, "admin", cbPass, parley.EUNAUTHENTICATED},
		{"another token", account + ".ffffffffffffffffffffffffffffffffffffffff", sms, cbUser, cbPass, parley.EFORBIDDEN},
		{"no token", account, sms, cbUser, cbPass, parley.ENOTFOUND},
		{"an object, not an array", key, []byte(`{"type":"message-received"}`), cbUser, cbPass, parley.EMALFORMED},
		{"an empty array", key, []byte(`[]`), cbUser, cbPass, parley.EMALFORMED},
		{"texts and receipts mixed", key, append(append([]byte("["), sms[1:len(sms)-2]...), []byte(`,{"type":"message-delivered","message":{"id":"x"}}]`)...), cbUser, cbPass, parley.EMALFORMED},
		{"a text with no id", key, bytes.Replace(sms, []byte(`"id":"1589228074636lm4k2je7j7jklbn2"`), []byte(`"id":""`), 1), cbUser, cbPass, parley.EINVALID},
	} {
		_, _, err := read(t, tt.key, tt.body, tt.user, tt.pass)
		if !parley.IsKind(err, tt.kind) {
			t.Errorf("%s: %v; want %s", tt.name, err, tt.kind)
		}
	}
}

func TestCheckChannelMakesTheToken(t *testing.T) {
	a := bandwidth.New("", 0)
	c := channel
	c.Options = map[string]string{"application_id": app, "api_username": "parley-api"}
	if bad := a.CheckChannel(&c); len(bad) != 0 {
		t.Fatalf("CheckChannel = %v", bad)
	}
	d := c
	d.Options = map[string]string{"application_id": app, "api_username": "parley-api"}
	a.CheckChannel(&d)
	if len(c.Options["webhook_token"]) < 32 || c.Options["webhook_token"] == d.Options["webhook_token"] || c.Options["webhook_username"] != "parley" {
		t.Errorf("options = %v and %v; want two different tokens of 32 or more characters and the default user", c.Options, d.Options)
	}
	for field, change := range map[string]func(*conversations.Channel){
		"account_id":             func(c *conversations.Channel) { c.CarrierAccountID = "ACe2e" },
		"webhook_secret":         func(c *conversations.Channel) { c.WebhookSecret = "short" },
		"options.application_id": func(c *conversations.Channel) { delete(c.Options, "application_id") },
		"options.api_username":   func(c *conversations.Channel) { delete(c.Options, "api_username") },
		"options.webhook_token":  func(c *conversations.Channel) { c.Options["webhook_token"] = "guessable" },
		"options.colour":         func(c *conversations.Channel) { c.Options["colour"] = "blue" },
	} {
		c := channel
		c.Options = map[string]string{}
		for k, v := range channel.Options {
			c.Options[k] = v
		}
		change(&c)
		if bad := a.CheckChannel(&c); bad[field] == "" {
			t.Errorf("CheckChannel = %v; want %s named", bad, field)
		}
	}
	in, _ := channel.WebhookURLs("https://parley.example.com")
	if in != "https://parley.example.com/webhooks/bandwidth/"+account+"."+token+"/messages" || !channel.WeakWebhookAuth() {
		t.Errorf("inbound URL = %s", in)
	}
}

func TestSendAndCheckStatus(t *testing.T) {
	fake := bandwidthtest.New(bandwidthtest.Config{AccountID: account, ApplicationID: app, APIUser: "parley-api", APIPassword: "api-password",
		Numbers: []string{business}, Unsubscribed: map[string]bool{optedOut: true}})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	t.Cleanup(fake.Close)
	a := bandwidth.New(srv.URL, time.Second)
	ctx := context.Background()
	text := func(to string) campaigns.OutboundText {
		return campaigns.OutboundText{MessageID: 42, Carrier: "bandwidth", CarrierAccountID: account, AuthToken: "api-password",
			Options: channel.Options, From: business, To: to, Body: "Hello"}
	}
	res, err := a.Send(ctx, text("+14155550100"))
	if err != nil || res.CarrierMessageID == "" {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	blocked, _ := a.Send(ctx, text(optedOut))
	var got, gotBlocked campaigns.CarrierStatus
	for deadline := time.Now().Add(5 * time.Second); got.Status != conversations.MessageDelivered || gotBlocked.Status != conversations.MessageFailed; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never final: %+v %+v", got, gotBlocked)
		}
		got, _ = a.CheckStatus(ctx, text(""), res.CarrierMessageID)
		gotBlocked, _ = a.CheckStatus(ctx, text(""), blocked.CarrierMessageID)
	}
	if !gotBlocked.Unsubscribed || got.Unsubscribed {
		t.Errorf("CheckStatus = %+v, %+v; want only the second unsubscribed", got, gotBlocked)
	}
	if err := a.VerifyChannel(ctx, channel); err != nil {
		t.Errorf("VerifyChannel = %v", err)
	}
	wrong := channel
	wrong.AuthToken = "nope"
	var pe *parley.Error
	if err := a.VerifyChannel(ctx, wrong); !errors.As(err, &pe) || pe.Code != conversations.CodeCarrierCredentialsInvalid {
		t.Errorf("VerifyChannel with a wrong password = %v", err)
	}
	if _, _, err := a.Lookup(ctx, text(""), time.Now()); !errors.Is(err, campaigns.ErrNoLookup) {
		t.Errorf("Lookup = %v", err)
	}
}

func FuzzReadCallback(f *testing.F) {
	for _, name := range []string{"inbound_sms.json", "inbound_mms_two.json", "status_delivered_failed.json"} {
		f.Add(fixture(f, name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, rep, err := read(t, account+"."+token, body, cbUser, cbPass)
		carriertest.CheckReport(t, rep, err)
	})
}
