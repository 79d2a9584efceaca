package vonage_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
	"github.com/parleyhq/parley/gateway/carrier/carriertest"
	"github.com/parleyhq/parley/gateway/vonage"
	"github.com/parleyhq/parley/gateway/vonage/vonagetest"
)

const (
	apiKey    = "abcd1234"
	secret    = "s1gnature-Secret-0001"
	publicURL = "https://parley.example.com"
	business  = "+14155550195"
)

var now = time.Date(2026, 1, 5, 10, 0, 30, 0, time.UTC)

// The published example of Vonage's Python SDK tests (vonage-python-sdk,
// test_check_signature): a=1, b=2, timestamp=1461605396 with the
// signature secret "secret", md5hash.
func TestSignatureVectors(t *testing.T) {
	params := map[string]string{"a": "1", "b": "2", "timestamp": "1461605396"}
	if got := vonage.Signature(params, "secret", vonage.MethodMD5Hash); got != "6af838ef94998832dbfc29020b564830" {
		t.Errorf("md5hash of the published example = %s", got)
	}
	// The HMAC methods key the same string with the secret, spelled out.
	mac := hmac.New(sha256.New, []byte("secret"))
	mac.Write([]byte("&a=1&b=2&timestamp=1461605396"))
	if got, want := vonage.Signature(params, "secret", vonage.MethodSHA256), hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("HMAC-SHA256 = %s; want %s", got, want)
	}
	// & and = inside a value are signed as _; sig itself is left out.
	withSig := map[string]string{"text": "a=b&c", "sig": "whatever"}
	if got, want := vonage.Signature(withSig, "k", vonage.MethodMD5Hash), md5Hex("&text=a_b_c"+"k"); got != want {
		t.Errorf("a value with & and =: %s; want %s", got, want)
	}
	// The fake signs on its own, in upper case as the SDKs do: the two agree.
	if got := vonagetest.Sign(params, "secret", ""); got != "6AF838EF94998832DBFC29020B564830" {
		t.Errorf("the fake's md5hash = %s", got)
	}
}

func channel(method string) conversations.Channel {
	return conversations.Channel{Carrier: conversations.CarrierVonage, CarrierAccountID: apiKey, AuthToken: "api-secret",
		WebhookSecret: secret, PhoneNumber: business, Options: map[string]string{vonage.OptionSignatureMethod: method}}
}

func fixture(t testing.TB, name string) []byte { return carriertest.Fixture(t, "vonage", name) }

// signed is a fixture's parameters signed at ts by method, as a body of
// the fixture's kind (form or JSON), with edit applied before signing.
func signed(t testing.TB, name, method string, ts time.Time, edit func(map[string]string)) (body []byte, contentType string) {
	t.Helper()
	raw := fixture(t, name)
	params := map[string]string{}
	isJSON := strings.HasSuffix(name, ".json")
	if isJSON {
		var fields map[string]any
		if err := json.Unmarshal(raw, &fields); err != nil {
			t.Fatal(err)
		}
		for k, v := range fields {
			params[k] = strings.Trim(string(must(json.Marshal(v))), `"`)
		}
	} else {
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			t.Fatal(err)
		}
		for k := range form {
			params[k] = form.Get(k)
		}
	}
	params["timestamp"], params["nonce"] = strconv.FormatInt(ts.Unix(), 10), "6e1d-nonce"
	if edit != nil {
		edit(params)
	}
	if _, ok := params["sig"]; !ok {
		params["sig"] = vonagetest.Sign(params, secret, method)
	}
	if isJSON {
		return must(json.Marshal(params)), "application/json"
	}
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	return []byte(form.Encode()), "application/x-www-form-urlencoded"
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// receive runs a webhook through the adapter as the gateway does: read,
// authenticate with ch, parse.
func receive(t testing.TB, key string, body []byte, contentType string, header http.Header, ch conversations.Channel) (*carrier.Webhook, carrier.Report, error) {
	t.Helper()
	a := vonage.New("", 0)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/vonage/"+key+"/messages", bytes.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	for k, v := range header {
		r.Header[k] = v
	}
	w := &carrier.Webhook{Kind: carrier.Messages, URL: publicURL + r.URL.RequestURI(), Header: r.Header, Key: key}
	if err := a.ReadWebhook(r, w); err != nil {
		return w, carrier.Report{}, err
	}
	if err := a.Authenticate(w, ch, now); err != nil {
		return w, carrier.Report{}, err
	}
	rep, err := a.Parse(w)
	return w, rep, err
}

func TestInboundTexts(t *testing.T) {
	for _, tt := range []struct {
		fixture, method string
		want            conversations.InboundText
	}{
		{"inbound_sms.form", vonage.MethodMD5Hash, conversations.InboundText{CarrierMessageID: "0A0000001234ABCD", From: "+14155550111", To: business, Body: "Hi there", Segments: 1}},
		{"inbound_sms.json", vonage.MethodSHA256, conversations.InboundText{CarrierMessageID: "0A0000001234ABCE", From: "+14155550111", To: business, Body: "Olá, tudo bem?", Segments: 1}},
		{"inbound_sms.form", vonage.MethodSHA512, conversations.InboundText{CarrierMessageID: "0A0000001234ABCD", From: "+14155550111", To: business, Body: "Hi there", Segments: 1}},
	} {
		t.Run(tt.fixture+"/"+tt.method, func(t *testing.T) {
			body, ct := signed(t, tt.fixture, tt.method, now, nil)
			w, rep, err := receive(t, apiKey, body, ct, nil, channel(tt.method))
			if err != nil {
				t.Fatal(err)
			}
			if !w.Inbound || w.To != business || w.AccountID != apiKey {
				t.Errorf("read as inbound=%v to %q account %q", w.Inbound, w.To, w.AccountID)
			}
			if len(rep.Texts) != 1 || !equalText(rep.Texts[0], tt.want) {
				t.Errorf("texts %+v; want %+v", rep.Texts, tt.want)
			}
		})
	}
}

func equalText(a, b conversations.InboundText) bool {
	return a.CarrierMessageID == b.CarrierMessageID && a.From == b.From && a.To == b.To && a.Body == b.Body &&
		a.Segments == b.Segments && len(a.MediaURLs) == len(b.MediaURLs) && (a.Part == nil) == (b.Part == nil)
}

func TestInboundPart(t *testing.T) {
	body, ct := signed(t, "inbound_part.form", vonage.MethodMD5Hash, now, nil)
	_, rep, err := receive(t, apiKey, body, ct, nil, channel(vonage.MethodMD5Hash))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Texts) != 1 || rep.Texts[0].Part == nil || *rep.Texts[0].Part != (conversations.TextPart{Ref: "27", Number: 2, Total: 2}) || rep.Texts[0].Body != "second part" {
		t.Fatalf("the part read as %+v", rep.Texts)
	}
	for _, bad := range []map[string]string{
		{"concat-part": "3"}, {"concat-part": "0"}, {"concat-total": "1", "concat-part": "1"}, {"concat-total": "256"}, {"concat-ref": ""}, {"concat-part": "two"},
	} {
		body, ct := signed(t, "inbound_part.form", vonage.MethodMD5Hash, now, func(p map[string]string) {
			for k, v := range bad {
				p[k] = v
			}
		})
		if _, _, err := receive(t, apiKey, body, ct, nil, channel(vonage.MethodMD5Hash)); !parley.IsKind(err, parley.EINVALID) {
			t.Errorf("a part with %v: %v; want 422", bad, err)
		}
	}
}

func TestReceipts(t *testing.T) {
	body, ct := signed(t, "dlr_delivered.form", vonage.MethodMD5Hash, now, nil)
	w, rep, err := receive(t, apiKey, body, ct, nil, channel(vonage.MethodMD5Hash))
	if err != nil {
		t.Fatal(err)
	}
	want := carrier.Receipt{CarrierMessageID: "parley-42", Status: conversations.MessageDelivered}
	if w.Inbound || len(rep.Statuses) != 1 || rep.Statuses[0] != want {
		t.Errorf("a delivered receipt read as %+v (inbound %v); want %+v", rep.Statuses, w.Inbound, want)
	}
	body, ct = signed(t, "dlr_unsubscribed.json", vonage.MethodMD5Hash, now, nil)
	if _, rep, err = receive(t, apiKey, body, ct, nil, channel(vonage.MethodMD5Hash)); err != nil {
		t.Fatal(err)
	}
	want = carrier.Receipt{CarrierMessageID: "parley-43", Status: conversations.MessageUndelivered, ErrorCode: 9, Unsubscribed: true}
	if len(rep.Statuses) != 1 || rep.Statuses[0] != want {
		t.Errorf("err-code 9 read as %+v; want %+v (an opt-out)", rep.Statuses, want)
	}
	// A receipt of a text Parley did not send (no client-ref of its own)
	// names Vonage's id; "unknown" says nothing.
	body, ct = signed(t, "dlr_delivered.form", vonage.MethodMD5Hash, now, func(p map[string]string) { delete(p, "client-ref"); p["status"] = "unknown" })
	if _, rep, err = receive(t, apiKey, body, ct, nil, channel(vonage.MethodMD5Hash)); err != nil || len(rep.Statuses) != 0 {
		t.Errorf("an unknown status: %+v, %v; want nothing to apply", rep.Statuses, err)
	}
}

func TestRefusedWebhooks(t *testing.T) {
	ok := channel(vonage.MethodMD5Hash)
	edit := func(f func(map[string]string)) func(map[string]string) { return f }
	for _, tt := range []struct {
		name    string
		body    func() ([]byte, string)
		key     string
		ch      conversations.Channel
		want    string
		wantErr string
	}{
		{"forged", func() ([]byte, string) {
			return signed(t, "inbound_sms.form", "", now, edit(func(p map[string]string) { p["sig"] = strings.Repeat("0", 32) }))
		}, apiKey, ok, parley.EFORBIDDEN, "does not match"},
		{"a changed text", func() ([]byte, string) {
			b, ct := signed(t, "inbound_sms.form", "", now, nil)
			return bytes.Replace(b, []byte("Hi+there"), []byte("Hi+thera"), 1), ct
		}, apiKey, ok, parley.EFORBIDDEN, "does not match"},
		{"unsigned", func() ([]byte, string) {
			return signed(t, "inbound_sms.form", "", now, edit(func(p map[string]string) { p["sig"] = "" }))
		}, apiKey, ok, parley.EFORBIDDEN, "not signed"},
		{"six minutes old (a replay)", func() ([]byte, string) {
			return signed(t, "inbound_sms.form", "", now.Add(-6*time.Minute), nil)
		}, apiKey, ok, parley.EFORBIDDEN, "outside"},
		{"signed by another method", func() ([]byte, string) {
			return signed(t, "inbound_sms.form", vonage.MethodSHA1, now, nil)
		}, apiKey, ok, parley.EFORBIDDEN, "does not match"},
		{"another secret", func() ([]byte, string) { return signed(t, "inbound_sms.form", "", now, nil) },
			apiKey, conversations.Channel{CarrierAccountID: apiKey, WebhookSecret: "other", Options: ok.Options}, parley.EFORBIDDEN, "does not match"},
		{"another API key in the URL", func() ([]byte, string) { return signed(t, "inbound_sms.form", "", now, nil) },
			"zzzz9999", ok, parley.ENOTFOUND, "api-key"},
		{"no API key in the URL", func() ([]byte, string) { return signed(t, "inbound_sms.form", "", now, nil) },
			"", ok, parley.ENOTFOUND, "name the API key"},
		{"malformed JSON", func() ([]byte, string) { return []byte(`{"msisdn":`), "application/json" }, apiKey, ok, parley.EMALFORMED, ""},
		{"a JSON array", func() ([]byte, string) { return []byte(`[1]`), "application/json" }, apiKey, ok, parley.EMALFORMED, ""},
		{"a nested parameter", func() ([]byte, string) { return []byte(`{"msisdn":{"a":1}}`), "application/json" }, apiKey, ok, parley.EMALFORMED, ""},
		{"plain text", func() ([]byte, string) { return []byte(`msisdn=1`), "text/plain" }, apiKey, ok, parley.EMALFORMED, ""},
		{"a bad sender", func() ([]byte, string) {
			return signed(t, "inbound_sms.form", "", now, edit(func(p map[string]string) { p["msisdn"] = "a.b.c" }))
		}, apiKey, ok, parley.EINVALID, ""},
		{"an unknown business number", func() ([]byte, string) {
			return signed(t, "inbound_sms.form", "", now, edit(func(p map[string]string) { p["to"] = "" }))
		}, apiKey, ok, parley.ENOTFOUND, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body, ct := tt.body()
			_, _, err := receive(t, tt.key, body, ct, nil, tt.ch)
			if !parley.IsKind(err, tt.want) || !(err != nil && strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("got %v; want %s mentioning %q", err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestBinaryTextsAreDropped(t *testing.T) {
	body, ct := signed(t, "inbound_sms.form", "", now, func(p map[string]string) { p["type"], p["text"] = "binary", "" })
	_, rep, err := receive(t, apiKey, body, ct, nil, channel(vonage.MethodMD5Hash))
	if err != nil || len(rep.Texts) != 0 {
		t.Errorf("a binary message: %+v, %v; want taken and nothing ingested", rep.Texts, err)
	}
}

func TestMessagesAPI(t *testing.T) {
	fake := vonagetest.New(vonagetest.Config{APIKey: apiKey, SignatureSecret: secret})
	body := fixture(t, "messages_inbound.json")
	bearer := func(b []byte, at time.Time) http.Header {
		return http.Header{"Authorization": {"Bearer " + fake.Token(b, at)}}
	}
	_, rep, err := receive(t, apiKey, body, "application/json", bearer(body, now), channel(""))
	if err != nil {
		t.Fatal(err)
	}
	want := conversations.InboundText{CarrierMessageID: "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab", From: "+14155550111", To: business, Body: "Hello from the Messages API", Segments: 2}
	if len(rep.Texts) != 1 || !equalText(rep.Texts[0], want) {
		t.Errorf("read %+v; want %+v", rep.Texts, want)
	}
	status := fixture(t, "messages_status.json")
	if _, rep, err = receive(t, apiKey, status, "application/json", bearer(status, now), channel("")); err != nil {
		t.Fatal(err)
	}
	if wantRc := (carrier.Receipt{CarrierMessageID: "parley-44", Status: conversations.MessageFailed, ErrorCode: 1320}); len(rep.Statuses) != 1 || rep.Statuses[0] != wantRc {
		t.Errorf("a rejected status read as %+v; want %+v", rep.Statuses, wantRc)
	}

	other := vonagetest.New(vonagetest.Config{APIKey: apiKey, SignatureSecret: "another secret"})
	otherKey := vonagetest.New(vonagetest.Config{APIKey: "zzzz9999", SignatureSecret: secret})
	for _, tt := range []struct {
		name   string
		body   []byte
		header http.Header
	}{
		{"a token signed with another secret", body, http.Header{"Authorization": {"Bearer " + other.Token(body, now)}}},
		{"a token for another API key", body, http.Header{"Authorization": {"Bearer " + otherKey.Token(body, now)}}},
		{"a changed body", bytes.Replace(body, []byte("Hello"), []byte("Hallo"), 1), bearer(body, now)},
		{"a token issued six minutes ago", body, bearer(body, now.Add(-6*time.Minute))},
		{"a token issued six minutes ahead", body, bearer(body, now.Add(6*time.Minute))},
		{"not a token", body, http.Header{"Authorization": {"Bearer abc.def.ghi"}}},
	} {
		if _, _, err := receive(t, apiKey, tt.body, "application/json", tt.header, channel("")); !parley.IsKind(err, parley.EFORBIDDEN) {
			t.Errorf("%s: %v; want 403", tt.name, err)
		}
	}
	// An unsigned callback is answered 503, which Vonage retries.
	if _, _, err := receive(t, apiKey, body, "application/json", nil, channel("")); !parley.IsKind(err, parley.EUNAVAILABLE) {
		t.Errorf("no token: %v; want 503", err)
	}
}

func md5Hex(s string) string {
	return vonage.Signature(map[string]string{}, s, vonage.MethodMD5Hash) // MD5 of "" + secret: the secret is s
}

func FuzzReadWebhook(f *testing.F) {
	for _, name := range []string{"inbound_sms.form", "inbound_part.form", "dlr_delivered.form", "inbound_sms.json", "dlr_unsubscribed.json", "messages_inbound.json", "messages_status.json"} {
		f.Add(fixture(f, name), strings.HasSuffix(name, ".json"))
	}
	f.Add([]byte(`concat=true&concat-part=1&concat-total=99999999999999999999`), false)
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		ct := "application/x-www-form-urlencoded"
		if isJSON {
			ct = "application/json"
		}
		a := vonage.New("", 0)
		r := httptest.NewRequest(http.MethodPost, "/webhooks/vonage/"+apiKey+"/messages", bytes.NewReader(body))
		r.Header.Set("Content-Type", ct)
		w := &carrier.Webhook{Kind: carrier.Messages, URL: publicURL + r.URL.RequestURI(), Header: r.Header, Key: apiKey}
		if err := a.ReadWebhook(r, w); err != nil {
			carriertest.CheckReport(t, carrier.Report{}, err)
			return
		}
		rep, err := a.Parse(w) // unauthenticated here: the parser must hold on any input
		carriertest.CheckReport(t, rep, err)
	})
}
