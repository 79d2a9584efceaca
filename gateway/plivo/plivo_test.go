package plivo_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
	"github.com/parleyhq/parley/gateway/carrier/carriertest"
	"github.com/parleyhq/parley/gateway/plivo"
	"github.com/parleyhq/parley/gateway/plivo/plivotest"
	"github.com/parleyhq/parley/optout"
)

const (
	authID    = "MAODZKYWMZNTDKZMQ5ZJ"
	authToken = "my_auth_token"
	business  = "+14155550199"
	optedOut  = "+14155550111"
	public    = "https://parley.example.com"
)

// Plivo's published V2 example (plivo-go's utils_test.go): the signature
// of https://answer.url with the nonce 12345 and the token my_auth_token.
// Its V3 example does not follow the construction Plivo documents and its
// Python SDK implements (it matches no arrangement of its inputs), so V3
// is pinned to that construction, spelled out: the URL, "?", the POST's
// parameters sorted by name as name and value run together (a GET's as
// name=value&…), ".", the nonce.
func TestSignatureExamples(t *testing.T) {
	if got := plivo.SignV2("my_auth_token", "https://answer.url", "12345"); got != "ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc=" {
		t.Errorf("SignV2 = %s", got)
	}
	params := url.Values{"To": {"14155550199"}, "From": {"14155550100"}, "Text": {"Hi there"}}
	for _, tt := range []struct {
		method, url, signed string
	}{
		{"POST", "https://parley.example.com/webhooks/plivo/MA1/messages",
			"https://parley.example.com/webhooks/plivo/MA1/messages?From14155550100TextHi thereTo14155550199.n-1"},
		{"POST", "https://parley.example.com/hook?b=2&a=1",
			"https://parley.example.com/hook?a=1&b=2.From14155550100TextHi thereTo14155550199.n-1"},
		{"GET", "https://parley.example.com/hook?z=9",
			"https://parley.example.com/hook?From=14155550100&Text=Hi there&To=14155550199&z=9.n-1"},
	} {
		m := hmac.New(sha256.New, []byte("my_auth_token"))
		m.Write([]byte(tt.signed))
		want := base64.StdEncoding.EncodeToString(m.Sum(nil))
		if got := plivo.SignV3("my_auth_token", tt.url, tt.method, "n-1", params); got != want {
			t.Errorf("SignV3(%s %s) = %s; want the HMAC of %q", tt.method, tt.url, got, tt.signed)
		}
	}
}

func fixture(t testing.TB, name string) []byte { return carriertest.Fixture(t, "plivo", name) }

// request is a webhook as Plivo's messaging posts it, signed with V2 for
// the account and the main account (sign false: unsigned).
func request(t testing.TB, path string, body []byte, token string, sign bool) (*http.Request, *carrier.Webhook) {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sign {
		r.Header.Set(plivo.HeaderV2, plivo.SignV2(token, public+path, "n1"))
		r.Header.Set(plivo.HeaderMainV2, plivo.SignV2(token, public+path, "n1"))
		r.Header.Set(plivo.HeaderV2Nonce, "n1")
	}
	return r, &carrier.Webhook{Kind: carrier.Messages, URL: public + path, Header: r.Header, Key: authID}
}

// signV3 adds Voice's V3 signature of body, which Parley also takes.
func signV3(body []byte, sigs ...string) func(http.Header) {
	return func(h http.Header) {
		form, _ := url.ParseQuery(string(body))
		sigs = append(sigs, plivo.SignV3(authToken, public+"/webhooks/plivo/"+authID+"/messages", "POST", "n3", form))
		h.Set(plivo.HeaderV3, strings.Join(sigs, ","))
		h.Set(plivo.HeaderV3Nonce, "n3")
	}
}

func read(t testing.TB, body []byte, mutate func(h http.Header)) (*carrier.Webhook, carrier.Report, error) {
	a := plivo.New("", 0)
	r, w := request(t, "/webhooks/plivo/"+authID+"/messages", body, authToken, true)
	if mutate != nil {
		mutate(r.Header)
	}
	if err := a.ReadWebhook(r, w); err != nil {
		return w, carrier.Report{}, err
	}
	if err := a.Authenticate(w, conversations.Channel{AuthToken: authToken}, time.Now()); err != nil {
		return w, carrier.Report{}, err
	}
	rep, err := a.Parse(w)
	return w, rep, err
}

func TestReadWebhooks(t *testing.T) {
	w, rep, err := read(t, fixture(t, "inbound_sms.form"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !w.Inbound || w.To != business || w.AccountID != authID || len(rep.Texts) != 1 ||
		rep.Texts[0].From != "+14155550100" || rep.Texts[0].Body != "Hi" || rep.Texts[0].CarrierMessageID != "1c2a5b3e-8f0d-11ef-9d4a-0242ac110002" {
		t.Errorf("inbound SMS: %+v %+v", w, rep)
	}
	if rep.Texts[0].CarrierIntent != optout.IntentNone {
		t.Errorf("an empty MessageIntent read as %q", rep.Texts[0].CarrierIntent)
	}
	// Plivo's compliance keywords say what they took a text for.
	for intent, want := range map[string]optout.Intent{"optout": optout.IntentOptOut, "optin": optout.IntentOptIn, "help": optout.IntentHelp, "other": optout.IntentNone} {
		form := bytes.Replace(fixture(t, "inbound_sms.form"), []byte("MessageIntent="), []byte("MessageIntent="+intent), 1)
		if _, rep, err := read(t, form, nil); err != nil || len(rep.Texts) != 1 || rep.Texts[0].CarrierIntent != want {
			t.Errorf("MessageIntent=%s: %+v, %v; want the intent %q", intent, rep, err, want)
		}
	}
	_, rep, err = read(t, fixture(t, "inbound_mms.form"), nil)
	if err != nil || len(rep.Texts) != 1 || rep.Texts[0].Body != "Here is the leak" || len(rep.Texts[0].MediaURLs) != 2 {
		t.Errorf("inbound MMS: %+v, %v", rep, err)
	}
	for _, tt := range []struct {
		file string
		want carrier.Receipt
	}{
		{"status_delivered.form", carrier.Receipt{CarrierMessageID: "3e4c7d50-8f0d-11ef-9d4a-0242ac110002", Status: conversations.MessageDelivered}},
		{"status_failed_stop.form", carrier.Receipt{CarrierMessageID: "4f5d8e61-8f0d-11ef-9d4a-0242ac110002", Status: conversations.MessageFailed,
			ErrorCode: 200, Unsubscribed: true}},
	} {
		w, rep, err := read(t, fixture(t, tt.file), nil)
		if err != nil || w.Inbound || len(rep.Statuses) != 1 || rep.Statuses[0] != tt.want {
			t.Errorf("%s: %+v, %v; want %+v", tt.file, rep, err, tt.want)
		}
	}
	// V2 signs no content: the webhook carries its nonce and a digest of
	// its URL and form for the gateway to bind. Either V2 header will do.
	w, _, err = read(t, fixture(t, "inbound_sms.form"), func(h http.Header) { h.Del(plivo.HeaderV2) })
	if err != nil || w.Nonce != "n1" {
		t.Errorf("signed with the main account's V2 only: nonce %q, %v", w.Nonce, err)
	}
	other, _, _ := read(t, bytes.Replace(fixture(t, "inbound_sms.form"), []byte("Text=Hi"), []byte("Text=Ho"), 1), nil)
	if w.Content == ([32]byte{}) || other.Content == w.Content {
		t.Errorf("the content digests of two forms under one nonce: %x and %x", w.Content, other.Content)
	}
	// V3, when it comes, binds the content itself: no nonce to keep.
	// Several signatures (several active tokens): any one will do.
	sms := fixture(t, "inbound_sms.form")
	w, _, err = read(t, sms, signV3(sms, "bm90IHRoaXMgb25l"))
	if err != nil || w.Nonce != "" {
		t.Errorf("signed by the second of two V3 signatures: nonce %q, %v", w.Nonce, err)
	}
}

func TestRefuseBadWebhooks(t *testing.T) {
	sms := fixture(t, "inbound_sms.form")
	for _, tt := range []struct {
		name   string
		body   []byte
		mutate func(http.Header)
		kind   string
		field  string
	}{
		{"unsigned", sms, func(h http.Header) {
			for _, k := range []string{plivo.HeaderV2, plivo.HeaderMainV2, plivo.HeaderV2Nonce} {
				h.Del(k)
			}
		}, parley.EFORBIDDEN, ""},
		{"V2 without its nonce", sms, func(h http.Header) { h.Del(plivo.HeaderV2Nonce) }, parley.EFORBIDDEN, ""},
		{"V2 of another nonce", sms, func(h http.Header) { h.Set(plivo.HeaderV2Nonce, "n2") }, parley.EFORBIDDEN, ""},
		{"V2 with another token", sms, func(h http.Header) {
			sig := plivo.SignV2("not-the-token", public+"/webhooks/plivo/"+authID+"/messages", "n1")
			h.Set(plivo.HeaderV2, sig)
			h.Set(plivo.HeaderMainV2, sig)
		}, parley.EFORBIDDEN, ""},
		{"V3 of other parameters, beside a right V2", sms, signV3([]byte("Text=other")), parley.EFORBIDDEN, ""},
		{"JSON", []byte(`{"MessageUUID":"x"}`), func(h http.Header) { h.Set("Content-Type", "application/json") }, parley.EMALFORMED, ""},
		{"a bad escape", []byte("Text=%zz"), nil, parley.EMALFORMED, ""},
		{"no To", bytes.Replace(sms, []byte("To=14155550199"), []byte("To="), 1), nil, parley.ENOTFOUND, ""},
		{"no MessageUUID", bytes.Replace(sms, []byte("MessageUUID=1c2a5b3e-8f0d-11ef-9d4a-0242ac110002"), []byte("MessageUUID="), 1), nil, parley.EINVALID, "MessageUUID"},
		{"a sender that is no address", bytes.Replace(sms, []byte("From=14155550100"), []byte("From=ACME%21"), 1), nil, parley.EINVALID, "From"},
		{"a status Plivo has not", bytes.Replace(fixture(t, "status_delivered.form"), []byte("Status=delivered"), []byte("Status=teleported"), 1), nil, parley.EINVALID, "Status"},
		{"media that is not a URL", bytes.Replace(fixture(t, "inbound_mms.form"), []byte("Media2=https"), []byte("Media2=ftp"), 1), nil, parley.EINVALID, "Media2"},
	} {
		_, _, err := read(t, tt.body, tt.mutate)
		var pe *parley.Error
		if !parley.IsKind(err, tt.kind) || (tt.field != "" && (!errors.As(err, &pe) || pe.Fields[tt.field] == "")) {
			t.Errorf("%s: %v; want %s naming %q", tt.name, err, tt.kind, tt.field)
		}
	}
}

func fakePlivo(t *testing.T) (*plivotest.Carrier, *plivo.Adapter) {
	c := plivotest.New(plivotest.Config{AuthID: authID, AuthToken: authToken, Numbers: []string{business},
		Unsubscribed: map[string]bool{optedOut: true}, ParleyURL: "http://127.0.0.1:1"})
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	t.Cleanup(c.Close)
	return c, plivo.New(srv.URL, time.Second)
}

func text(to string) campaigns.OutboundText {
	return campaigns.OutboundText{Carrier: "plivo", CarrierAccountID: authID, AuthToken: authToken, From: business, To: to,
		Body: "Your table is ready", StatusCallbackURL: public + "/webhooks/plivo/" + authID + "/status"}
}

func TestSendCheckAndVerify(t *testing.T) {
	c, a := fakePlivo(t)
	ctx := context.Background()
	res, err := a.Send(ctx, text("+14155550100"))
	if err != nil || res.CarrierMessageID == "" || res.Status != "queued" {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	if m := c.Messages(); len(m) != 1 || m[0].From != business || m[0].To != "+14155550100" || m[0].WebhookURL != text("").StatusCallbackURL {
		t.Fatalf("the carrier holds %+v", m)
	}
	blocked, err := a.Send(ctx, text(optedOut))
	if err != nil {
		t.Fatal(err)
	}
	var got, gotBlocked campaigns.CarrierStatus
	for deadline := time.Now().Add(5 * time.Second); got.Status != conversations.MessageDelivered || gotBlocked.Status != conversations.MessageFailed; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never final: %+v, %+v", got, gotBlocked)
		}
		got, _ = a.CheckStatus(ctx, text(""), res.CarrierMessageID)
		gotBlocked, _ = a.CheckStatus(ctx, text(""), blocked.CarrierMessageID)
	}
	if !gotBlocked.Unsubscribed || gotBlocked.ErrorCode == nil || *gotBlocked.ErrorCode != 200 || got.Unsubscribed {
		t.Errorf("CheckStatus = %+v and %+v; want the second unsubscribed with 200", got, gotBlocked)
	}
	if _, _, err := a.Lookup(ctx, text(""), time.Now()); !errors.Is(err, campaigns.ErrNoLookup) {
		t.Errorf("Lookup = %v; want ErrNoLookup", err)
	}

	wrong := text("+14155550100")
	wrong.AuthToken = "wrong"
	var se *campaigns.SendError
	if _, err := a.Send(ctx, wrong); !errors.As(err, &se) || se.HTTPStatus != http.StatusUnauthorized || se.Temporary {
		t.Errorf("Send with a wrong token = %v; want a final 401", err)
	}
	ch := conversations.Channel{Carrier: "plivo", PhoneNumber: business, CarrierAccountID: authID, AuthToken: authToken}
	if err := a.VerifyChannel(ctx, ch); err != nil {
		t.Errorf("VerifyChannel = %v", err)
	}
	for _, tt := range []struct {
		change func(*conversations.Channel)
		code   string
		field  string
	}{
		{func(c *conversations.Channel) { c.AuthToken = "wrong" }, conversations.CodeCarrierCredentialsInvalid, "auth_token"},
		{func(c *conversations.Channel) { c.PhoneNumber = "+14155550000" }, conversations.CodeNumberNotOnCarrierAccount, "phone_number"},
	} {
		bad := ch
		tt.change(&bad)
		var pe *parley.Error
		if err := a.VerifyChannel(ctx, bad); !errors.As(err, &pe) || pe.Code != tt.code || pe.Fields[tt.field] == "" {
			t.Errorf("VerifyChannel(%+v) = %v; want %s", bad, err, tt.code)
		}
	}
}

func TestCheckChannel(t *testing.T) {
	a := plivo.New("", 0)
	ok := conversations.Channel{Carrier: "plivo", PhoneNumber: business, CarrierAccountID: authID, AuthToken: authToken}
	if bad := a.CheckChannel(&ok); len(bad) != 0 {
		t.Errorf("CheckChannel = %v", bad)
	}
	for field, change := range map[string]func(*conversations.Channel){
		"account_id":     func(c *conversations.Channel) { c.CarrierAccountID = "ACe2e00000000000000000000000000001" },
		"webhook_secret": func(c *conversations.Channel) { c.WebhookSecret = "x" },
		"phone_number":   func(c *conversations.Channel) { c.PhoneNumber = "" },
	} {
		c := ok
		change(&c)
		if bad := a.CheckChannel(&c); bad[field] == "" {
			t.Errorf("CheckChannel = %v; want %s named", bad, field)
		}
	}
}

func FuzzReadWebhook(f *testing.F) {
	for _, name := range []string{"inbound_sms.form", "inbound_mms.form", "status_delivered.form", "status_failed_stop.form"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte("MediaCount=99999999999&Media0=%"))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, rep, err := read(t, body, nil)
		carriertest.CheckReport(t, rep, err)
		for _, tx := range rep.Texts {
			if len(tx.MediaURLs) > plivo.MaxMedia {
				t.Fatalf("read %d media URLs, over Plivo's %d", len(tx.MediaURLs), plivo.MaxMedia)
			}
		}
	})
}
