package telnyx_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier/carriertest"
	"github.com/parleyhq/parley/gateway/telnyx"
	"github.com/parleyhq/parley/gateway/telnyx/telnyxtest"
)

const (
	apiKey   = "KEY0123456789ABCDEF_test"
	business = "+14155550199"
	optedOut = "+14155550111"
)

func fakeTelnyx(t *testing.T) (*telnyxtest.Carrier, *telnyx.Adapter) {
	t.Helper()
	c := telnyxtest.New(telnyxtest.Config{APIKey: apiKey, Profile: profile, Numbers: []string{business},
		Unsubscribed: map[string]bool{optedOut: true}})
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	t.Cleanup(c.Close)
	return c, telnyx.New(srv.URL, time.Second)
}

func text(to string) campaigns.OutboundText {
	return campaigns.OutboundText{Carrier: "telnyx", CarrierAccountID: profile, AuthToken: apiKey, From: business, To: to,
		Body: "Your technician is on the way", StatusCallbackURL: "https://parley.example/webhooks/telnyx/" + profile + "/status"}
}

func TestSendAndCheckStatus(t *testing.T) {
	c, a := fakeTelnyx(t)
	ctx := context.Background()
	res, err := a.Send(ctx, text("+14155550100"))
	if err != nil || res.CarrierMessageID == "" || res.Status != string(conversations.MessageQueued) {
		t.Fatalf("Send = %+v, %v; want an id, queued", res, err)
	}
	msgs := c.Messages()
	if len(msgs) != 1 || msgs[0].From != business || msgs[0].To != "+14155550100" || msgs[0].Text != "Your technician is on the way" ||
		msgs[0].WebhookURL != text("").StatusCallbackURL {
		t.Fatalf("the carrier holds %+v", msgs)
	}
	blocked, err := a.Send(ctx, text(optedOut))
	if err != nil {
		t.Fatal(err)
	}
	// The fake finalizes without callbacks here (no webhook reaches a
	// server): ask until both are final.
	var got, gotBlocked campaigns.CarrierStatus
	for deadline := time.Now().Add(5 * time.Second); got.Status.Rank() < conversations.MessageDelivered.Rank() ||
		gotBlocked.Status.Rank() < conversations.MessageDelivered.Rank(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never final: %+v, %+v", got, gotBlocked)
		}
		if got, err = a.CheckStatus(ctx, text(""), res.CarrierMessageID); err != nil {
			t.Fatal(err)
		}
		if gotBlocked, err = a.CheckStatus(ctx, text(""), blocked.CarrierMessageID); err != nil {
			t.Fatal(err)
		}
	}
	if got.Status != conversations.MessageDelivered || got.ErrorCode != nil || got.Unsubscribed {
		t.Errorf("CheckStatus = %+v; want delivered", got)
	}
	if gotBlocked.Status != conversations.MessageFailed || gotBlocked.ErrorCode == nil || *gotBlocked.ErrorCode != 40300 || !gotBlocked.Unsubscribed {
		t.Errorf("CheckStatus of a text to an opted-out phone = %+v; want failed, 40300, unsubscribed", gotBlocked)
	}
	var se *campaigns.SendError
	if _, err := a.CheckStatus(ctx, text(""), "00000000-0000-4000-8000-000000000000"); !errors.As(err, &se) || se.HTTPStatus != http.StatusNotFound || se.Temporary {
		t.Errorf("CheckStatus of an unknown id = %v; want a final 404", err)
	}
	if _, err := a.CheckStatus(ctx, text(""), "../v2/phone_numbers"); !errors.As(err, &se) || se.Temporary {
		t.Errorf("CheckStatus of a path = %v; want refused before asking", err)
	}
	if _, _, err := a.Lookup(ctx, text("+14155550100"), time.Now().Add(-time.Minute)); !errors.Is(err, campaigns.ErrNoLookup) {
		t.Errorf("Lookup = %v; want ErrNoLookup", err)
	}
}

func TestSendRefusals(t *testing.T) {
	_, a := fakeTelnyx(t)
	wrongKey, wrongFrom := text("+14155550100"), text("+14155550100")
	wrongKey.AuthToken = "KEYwrong"
	wrongFrom.From = "+14155550000"
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"errors":[{"code":"10011","title":"Too many requests","detail":"Slow down."}]}`))
	}))
	t.Cleanup(busy.Close)
	for _, tt := range []struct {
		name      string
		a         *telnyx.Adapter
		text      campaigns.OutboundText
		status    int
		code      int
		temporary bool
	}{
		{"a key Telnyx refuses", a, wrongKey, http.StatusUnauthorized, 10009, false},
		{"a number not on the account", a, wrongFrom, http.StatusBadRequest, 40305, false},
		{"rate limited", telnyx.New(busy.URL, time.Second), text("+14155550100"), http.StatusTooManyRequests, 10011, true},
	} {
		_, err := tt.a.Send(context.Background(), tt.text)
		var se *campaigns.SendError
		if !errors.As(err, &se) || se.HTTPStatus != tt.status || se.Code != tt.code || se.Temporary != tt.temporary || se.Unsubscribed {
			t.Errorf("%s: %#v; want http %d code %d temporary %v", tt.name, err, tt.status, tt.code, tt.temporary)
		}
	}
	// No answer at all leaves the text's fate unknown.
	down := telnyx.New("http://127.0.0.1:1", time.Second)
	var se *campaigns.SendError
	if _, err := down.Send(context.Background(), text("+14155550100")); !errors.As(err, &se) || !se.Temporary || se.HTTPStatus != 0 || !se.NotSent {
		t.Errorf("a carrier that cannot be reached: %#v; want temporary, no HTTP status, never sent", err)
	}
	// One that takes the request and drops the connection may have the
	// text: not NotSent, so the retry looks it up (or, here, fails).
	hangUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		carriertest.HangUp(w)
	}))
	t.Cleanup(hangUp.Close)
	if _, err := telnyx.New(hangUp.URL, time.Second).Send(context.Background(), text("+14155550100")); !errors.As(err, &se) || !se.Temporary || se.NotSent {
		t.Errorf("a carrier that hung up: %#v; want temporary and perhaps sent", err)
	}
}

func TestVerifyChannel(t *testing.T) {
	c, a := fakeTelnyx(t)
	ch := conversations.Channel{Carrier: "telnyx", PhoneNumber: business, CarrierAccountID: profile, AuthToken: apiKey, WebhookSecret: c.PublicKey()}
	if err := a.VerifyChannel(context.Background(), ch); err != nil {
		t.Fatalf("VerifyChannel = %v", err)
	}
	for _, tt := range []struct {
		name   string
		change func(*conversations.Channel)
		code   string
		field  string
	}{
		{"a key Telnyx refuses", func(c *conversations.Channel) { c.AuthToken = "KEYwrong" }, conversations.CodeCarrierCredentialsInvalid, "auth_token"},
		{"a number not on the account", func(c *conversations.Channel) { c.PhoneNumber = "+14155550000" }, conversations.CodeNumberNotOnCarrierAccount, "phone_number"},
		{"another messaging profile", func(c *conversations.Channel) { c.CarrierAccountID = "5001767e-ce0f-4cae-9d5f-0d5e636e7809" }, conversations.CodeNumberNotOnCarrierAccount, "account_id"},
	} {
		bad := ch
		tt.change(&bad)
		var pe *parley.Error
		if err := a.VerifyChannel(context.Background(), bad); !errors.As(err, &pe) || pe.Code != tt.code || pe.Fields[tt.field] == "" {
			t.Errorf("%s: %v; want %s naming %s", tt.name, err, tt.code, tt.field)
		}
	}
	down := telnyx.New("http://127.0.0.1:1", time.Second)
	if err := down.VerifyChannel(context.Background(), ch); !parley.IsKind(err, parley.EUPSTREAM) {
		t.Errorf("a carrier that does not answer: %v; want 502", err)
	}
}

func TestCheckChannel(t *testing.T) {
	a := telnyx.New("", 0)
	good := conversations.Channel{Carrier: "telnyx", PhoneNumber: business, CarrierAccountID: "4001767E-CE0F-4CAE-9D5F-0D5E636E7809",
		AuthToken: apiKey, WebhookSecret: rfc8032PublicKey}
	if bad := a.CheckChannel(&good); len(bad) != 0 || good.CarrierAccountID != profile {
		t.Errorf("CheckChannel = %v, account %s; want none and the profile in lower case", bad, good.CarrierAccountID)
	}
	for _, tt := range []struct {
		change func(*conversations.Channel)
		field  string
	}{
		{func(c *conversations.Channel) { c.CarrierAccountID = "ACe2e00000000000000000000000000001" }, "account_id"},
		{func(c *conversations.Channel) { c.WebhookSecret = "" }, "webhook_secret"},
		{func(c *conversations.Channel) { c.WebhookSecret = "c2hvcnQ=" }, "webhook_secret"},
		{func(c *conversations.Channel) { c.PhoneNumber, c.MessagingServiceSID = "", "MG1" }, "phone_number"},
		{func(c *conversations.Channel) { c.Options = map[string]string{"x": "y"} }, "options"},
	} {
		c := good
		tt.change(&c)
		if bad := a.CheckChannel(&c); bad[tt.field] == "" {
			t.Errorf("CheckChannel(%+v) = %v; want %s named", c, bad, tt.field)
		}
	}
}
