package telnyx_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
	"github.com/parleyhq/parley/gateway/carrier/carriertest"
	"github.com/parleyhq/parley/gateway/telnyx"
)

// The signing key of RFC 8032's first Ed25519 test vector (section 7.1,
// TEST 1): its public key, and the signature of the RFC's empty message.
// Telnyx publishes no fixed example (its SDKs' tests generate keys), so
// the published vector pins the primitive and a golden signature made
// with the same key pins Telnyx's framing, timestamp|body.
const (
	rfc8032PublicKey = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" // d75a9801…511a
	rfc8032EmptySig  = "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18FlbviRlUUFDjnoQCw=="
	goldenTimestamp  = "1767607200" // 2026-01-05T10:00:00Z
	goldenSignature  = "VxNQX/5T7sslBejK8meel12PhPc4eCpKAVWkjXwEIFZgmY66LFA067XdlReNwagPVuNKbw5iezVVxMpduExpCA=="
	profile          = "4001767e-ce0f-4cae-9d5f-0d5e636e7809"
)

func fixture(t testing.TB, name string) []byte { return carriertest.Fixture(t, "telnyx", name) }

func signedAt(t *testing.T) time.Time {
	secs, _ := strconv.ParseInt(goldenTimestamp, 10, 64)
	return time.Unix(secs, 0)
}

func TestVerifyTheSignatureVectors(t *testing.T) {
	body := fixture(t, "inbound_sms.json")
	at := signedAt(t)
	if err := telnyx.VerifyEd25519(rfc8032PublicKey, nil, rfc8032EmptySig); err != nil {
		t.Errorf("RFC 8032 TEST 1 does not verify: %v", err)
	}
	if err := telnyx.Verify(rfc8032PublicKey, goldenTimestamp, goldenSignature, body, at); err != nil {
		t.Fatalf("the golden Telnyx signature does not verify: %v", err)
	}
	tampered := bytes.Replace(body, []byte(`"Hi"`), []byte(`"Hello"`), 1)
	otherKey := "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=" // RFC 8032 TEST 2's public key
	for _, tt := range []struct {
		name         string
		key, ts, sig string
		body         []byte
		now          time.Time
	}{
		{"a changed body", rfc8032PublicKey, goldenTimestamp, goldenSignature, tampered, at},
		{"another account's key", otherKey, goldenTimestamp, goldenSignature, body, at},
		{"a timestamp changed to look fresh", rfc8032PublicKey, "1767607201", goldenSignature, body, at},
		{"six minutes late (a replay)", rfc8032PublicKey, goldenTimestamp, goldenSignature, body, at.Add(6 * time.Minute)},
		{"six minutes early", rfc8032PublicKey, goldenTimestamp, goldenSignature, body, at.Add(-6 * time.Minute)},
		{"no signature", rfc8032PublicKey, goldenTimestamp, "", body, at},
		{"no timestamp", rfc8032PublicKey, "", goldenSignature, body, at},
		{"a timestamp that is not one", rfc8032PublicKey, "yesterday", goldenSignature, body, at},
		{"a signature that is not base64", rfc8032PublicKey, goldenTimestamp, "not base64!", body, at},
		{"a short signature", rfc8032PublicKey, goldenTimestamp, goldenSignature[:40], body, at},
	} {
		err := telnyx.Verify(tt.key, tt.ts, tt.sig, tt.body, tt.now)
		if !parley.IsKind(err, parley.EFORBIDDEN) {
			t.Errorf("%s: Verify = %v; want 403", tt.name, err)
		}
	}
	// Four minutes either way is inside the window.
	for _, d := range []time.Duration{4 * time.Minute, -4 * time.Minute} {
		if err := telnyx.Verify(rfc8032PublicKey, goldenTimestamp, goldenSignature, body, at.Add(d)); err != nil {
			t.Errorf("verified %v from its timestamp: %v", d, err)
		}
	}
}

// read runs a webhook body through ReadWebhook and Parse as the gateway
// does, with the golden headers.
func read(t *testing.T, kind carrier.Kind, key string, body []byte) (*carrier.Webhook, carrier.Report, error) {
	t.Helper()
	a := telnyx.New("", 0)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/telnyx/"+key+"/"+string(kind), bytes.NewReader(body))
	w := &carrier.Webhook{Kind: kind, Key: key, Header: r.Header}
	if err := a.ReadWebhook(r, w); err != nil {
		return w, carrier.Report{}, err
	}
	rep, err := a.Parse(w)
	return w, rep, err
}

func TestReadInboundTexts(t *testing.T) {
	w, rep, err := read(t, carrier.Messages, profile, fixture(t, "inbound_sms.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !w.Inbound || w.AccountID != profile || w.To != "+14155550199" {
		t.Errorf("routing = inbound %v, account %q, to %q", w.Inbound, w.AccountID, w.To)
	}
	want := conversations.InboundText{CarrierMessageID: "7ee4241c-f127-47e5-9c34-3aac291f8058", From: "+14155550100", To: "+14155550199", Body: "Hi", Segments: 1}
	if len(rep.Texts) != 1 || rep.Texts[0].CarrierMessageID != want.CarrierMessageID || rep.Texts[0].From != want.From ||
		rep.Texts[0].To != want.To || rep.Texts[0].Body != want.Body || rep.Texts[0].Segments != 1 || len(rep.Texts[0].MediaURLs) != 0 {
		t.Errorf("texts = %+v; want %+v", rep.Texts, want)
	}

	_, rep, err = read(t, carrier.Messages, profile, fixture(t, "inbound_mms.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Texts) != 1 || len(rep.Texts[0].MediaURLs) != 2 || rep.Texts[0].MediaURLs[1] != "https://media.telnyx.example/4a1f.png" {
		t.Errorf("MMS = %+v; want its two media URLs", rep.Texts)
	}
}

func TestReadStatusReceipts(t *testing.T) {
	for _, tt := range []struct {
		file         string
		id           string
		status       conversations.MessageStatus
		code         int
		unsubscribed bool
	}{
		{"status_sent.json", "40385f64-5717-4562-b3fc-2c963f66afa6", conversations.MessageSent, 0, false},
		{"status_finalized_delivered.json", "40385f64-5717-4562-b3fc-2c963f66afa6", conversations.MessageDelivered, 0, false},
		{"status_finalized_stop.json", "5e1b9c3a-7d2f-4a8e-b6c0-1f2e3d4c5b6a", conversations.MessageFailed, 40300, true},
	} {
		w, rep, err := read(t, carrier.Status, profile, fixture(t, tt.file))
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		want := carrier.Receipt{CarrierMessageID: tt.id, Status: tt.status, ErrorCode: tt.code, Unsubscribed: tt.unsubscribed}
		if w.Inbound || len(rep.Statuses) != 1 || rep.Statuses[0] != want {
			t.Errorf("%s: receipts = %+v; want %+v", tt.file, rep.Statuses, want)
		}
	}
	// Both kinds may come to either URL: the body says which it is.
	if w, rep, err := read(t, carrier.Status, profile, fixture(t, "inbound_sms.json")); err != nil || !w.Inbound || len(rep.Texts) != 1 {
		t.Errorf("an inbound text at the status URL: inbound %v, %+v, %v", w.Inbound, rep, err)
	}
	// An event Parley does not read is taken and changes nothing.
	other := []byte(`{"data":{"event_type":"number_order.complete","id":"x","payload":{"id":"y"}}}`)
	if _, rep, err := read(t, carrier.Status, profile, other); err != nil || len(rep.Texts)+len(rep.Statuses) != 0 {
		t.Errorf("another event: %+v, %v; want nothing and no error", rep, err)
	}
}

func TestRefuseBadWebhooks(t *testing.T) {
	sms := string(fixture(t, "inbound_sms.json"))
	replace := func(old, new string) []byte { return []byte(strings.Replace(sms, old, new, 1)) }
	for _, tt := range []struct {
		name  string
		key   string
		body  []byte
		kind  string
		field string
	}{
		{"no profile in the URL", "", []byte(sms), parley.ENOTFOUND, ""},
		{"not JSON", profile, []byte("MessageSid=SM1&Body=Hi"), parley.EMALFORMED, ""},
		{"truncated JSON", profile, []byte(sms[:100]), parley.EMALFORMED, ""},
		{"a text to no number", profile, replace(`"to":[{"phone_number":"+14155550199","status":"delivered"}]`, `"to":[]`), parley.ENOTFOUND, ""},
		{"a sender that is no address", profile, replace(`"phone_number":"+14155550100"`, `"phone_number":"ACME!"`), parley.EINVALID, "data.payload.from.phone_number"},
		{"no message id", profile, replace(`"id":"7ee4241c-f127-47e5-9c34-3aac291f8058"`, `"id":""`), parley.EINVALID, "data.payload.id"},
		{"a NUL in the text", profile, replace(`"text":"Hi"`, `"text":"H\u0000i"`), parley.EINVALID, "data.payload.text"},
		{"media that is not a URL", profile, replace(`"media":[]`, `"media":[{"url":"javascript:alert(1)"}]`), parley.EINVALID, "data.payload.media.0.url"},
		{"a status Telnyx does not have", profile, bytes.Replace(fixture(t, "status_sent.json"), []byte(`"status":"sent"`), []byte(`"status":"teleported"`), 1), parley.EINVALID, "data.payload.to.0.status"},
	} {
		_, _, err := read(t, carrier.Messages, tt.key, tt.body)
		var pe *parley.Error
		if !parley.IsKind(err, tt.kind) || (tt.field != "" && (!errors.As(err, &pe) || pe.Fields[tt.field] == "")) {
			t.Errorf("%s: %v; want %s naming %q", tt.name, err, tt.kind, tt.field)
		}
	}
}

// Any body, however broken, is refused or read: never a panic, and what
// is read can be stored.
func FuzzReadWebhook(f *testing.F) {
	for _, name := range []string{"inbound_sms.json", "inbound_mms.json", "status_sent.json", "status_finalized_stop.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"data":{"event_type":"message.received","payload":{"to":[{}],"media":[{"url":"%"}]}}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, kind := range []carrier.Kind{carrier.Messages, carrier.Status} {
			_, rep, err := read(t, kind, profile, body)
			carriertest.CheckReport(t, rep, err)
		}
	})
}
