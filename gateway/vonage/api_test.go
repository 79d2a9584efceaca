package vonage_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
	"github.com/parleyhq/parley/gateway/vonage"
	"github.com/parleyhq/parley/gateway/vonage/vonagetest"
)

const apiSecret = "api-secret"

func fakeAPI(t *testing.T) (*vonage.Adapter, *vonagetest.Carrier) {
	t.Helper()
	fake := vonagetest.New(vonagetest.Config{APIKey: apiKey, APISecret: apiSecret, SignatureSecret: secret, Numbers: []string{business}})
	srv := httptest.NewServer(fake)
	t.Cleanup(func() { srv.Close(); fake.Close() })
	return vonage.New(srv.URL, 0), fake
}

func outbound(body string) campaigns.OutboundText {
	return campaigns.OutboundText{MessageID: 42, Carrier: conversations.CarrierVonage, CarrierAccountID: apiKey, AuthToken: apiSecret,
		From: business, To: "+14155550111", Body: body, StatusCallbackURL: publicURL + "/webhooks/vonage/" + apiKey + "/status"}
}

func TestSend(t *testing.T) {
	a, fake := fakeAPI(t)
	res, err := a.Send(context.Background(), outbound("Hello"))
	if err != nil {
		t.Fatal(err)
	}
	if res.CarrierMessageID != "parley-42" || res.Segments != 1 || res.Status != string(conversations.MessageSent) {
		t.Errorf("sent as %+v; want the client reference parley-42 as its id", res)
	}
	long, err := a.Send(context.Background(), outbound(strings.Repeat("long ", 70)))
	if err != nil || long.Segments != 3 {
		t.Errorf("a 350-character text: %+v, %v; want 3 parts", long, err)
	}
	msgs := fake.Messages()
	if len(msgs) != 2 || msgs[0].From != business || msgs[0].To != "+14155550111" || msgs[0].Text != "Hello" || !strings.HasSuffix(msgs[0].WebhookURL, "/status") {
		t.Errorf("the carrier took %+v", msgs)
	}

	bad := outbound("Hello")
	bad.AuthToken = "wrong"
	_, err = a.Send(context.Background(), bad)
	var se *campaigns.SendError
	if !errors.As(err, &se) || se.Code != 4 || se.Temporary || !carrier.RefusedCredentials(err) {
		t.Errorf("a wrong secret: %v; want Vonage's status 4, final, credentials refused", err)
	}
	media := outbound("See this")
	media.MediaURLs = []string{"https://example.com/a.jpg"}
	if _, err := a.Send(context.Background(), media); !errors.As(err, &se) || se.Temporary || !strings.Contains(se.Message, "no pictures") {
		t.Errorf("a picture: %v; want a final refusal in words", err)
	}
	if _, _, err := a.Lookup(context.Background(), outbound("x"), now); !errors.Is(err, campaigns.ErrNoLookup) {
		t.Errorf("Lookup = %v; want ErrNoLookup", err)
	}
	if _, err := a.CheckStatus(context.Background(), outbound("x"), "parley-42"); !errors.As(err, &se) || se.Temporary {
		t.Errorf("CheckStatus = %v; want a final error (the SMS API has none)", err)
	}
}

// The SMS API answers 200 with a status per part: throttling and
// Vonage's own faults may be retried, the rest are final.
func TestSendRefusals(t *testing.T) {
	for status, temporary := range map[string]bool{"1": true, "5": true, "15": false, "29": false} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"message-count":"1","messages":[{"status":"` + status + `","error-text":"refused"}]}`))
		}))
		_, err := vonage.New(srv.URL, 0).Send(context.Background(), outbound("Hi"))
		srv.Close()
		var se *campaigns.SendError
		if !errors.As(err, &se) || se.Temporary != temporary || !strings.Contains(se.Message, "refused") {
			t.Errorf("status %s: %v; want a refusal, temporary %v", status, err, temporary)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"messages":[]}`)) }))
	defer srv.Close()
	var se *campaigns.SendError
	if _, err := vonage.New(srv.URL, 0).Send(context.Background(), outbound("Hi")); !errors.As(err, &se) || se.Temporary {
		t.Errorf("an answer without entries: %v; want a final error", err)
	}
}

func TestVerifyChannel(t *testing.T) {
	a, _ := fakeAPI(t)
	ch := channel(vonage.MethodMD5Hash)
	ch.AuthToken = apiSecret
	if err := a.VerifyChannel(context.Background(), ch); err != nil {
		t.Fatalf("the account's own number: %v", err)
	}
	wrong := ch
	wrong.AuthToken = "wrong"
	if err := a.VerifyChannel(context.Background(), wrong); !parley.IsKind(err, parley.EINVALID) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("a wrong secret: %v; want the credentials refused", err)
	}
	other := ch
	other.PhoneNumber = "+14155550100"
	if err := a.VerifyChannel(context.Background(), other); !parley.IsKind(err, parley.EINVALID) {
		t.Errorf("a number not on the account: %v; want 422", err)
	}
}

func TestCheckChannel(t *testing.T) {
	a := vonage.New("", 0)
	c := conversations.Channel{CarrierAccountID: apiKey, WebhookSecret: secret, PhoneNumber: business}
	if bad := a.CheckChannel(&c); len(bad) != 0 || c.Options[vonage.OptionSignatureMethod] != vonage.MethodMD5Hash {
		t.Errorf("a channel without a method: %v, options %v; want md5hash", bad, c.Options)
	}
	c = conversations.Channel{CarrierAccountID: "a b", Options: map[string]string{"signature_method": "crc32", "region": "eu"}, MessagingServiceSID: "MG1"}
	bad := a.CheckChannel(&c)
	for _, f := range []string{"account_id", "webhook_secret", "phone_number", "messaging_service_sid", "options.signature_method", "options.region"} {
		if bad[f] == "" {
			t.Errorf("%s not refused: %v", f, bad)
		}
	}
}
