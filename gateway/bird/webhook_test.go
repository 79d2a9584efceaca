package bird_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/bird"
	"github.com/parleyhq/parley/gateway/carrier"
	"github.com/parleyhq/parley/gateway/carrier/carriertest"
)

// Bird publishes no fixed example of a signature (its docs give the
// construction and a PHP function), so the golden signatures below were
// computed outside Go (Python's hmac and hashlib) over the fixture, and
// the test spells the construction out again step by step.
const (
	channelID  = "5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
	workspace  = "0b1c2d3e-4f50-4a61-8b72-c3d4e5f60718"
	signingKey = "parley-bird-signing-key-0001"
	publicURL  = "https://parley.example"
	inboundURL = publicURL + "/webhooks/bird/" + channelID + "/messages"
	goldenTS   = "1767607200" // 2026-01-05T10:00:00Z
	goldenSig  = "oO7VgeQ2uaFtzCPR8TNVa8zK9zoxJsSEckzd5I4plPY="
	// The same, with the timestamp in milliseconds.
	goldenTSMillis  = "1767607200000"
	goldenSigMillis = "SMzEeumcaw9jdieamJPTI/uOrDMAD5AZTzBjOWRiuc8="
)

func fixture(t testing.TB, name string) []byte { return carriertest.Fixture(t, "bird", name) }

func signedAt() time.Time {
	secs, _ := strconv.ParseInt(goldenTS, 10, 64)
	return time.Unix(secs, 0)
}

func TestSignatureConstruction(t *testing.T) {
	body := fixture(t, "inbound_sms.json")
	// 1. The body's SHA-256, as its raw 32 bytes (not hex).
	bodyHash := sha256.Sum256(body)
	// 2. Timestamp, URL and that hash, joined by newlines.
	signed := []byte(goldenTS + "\n" + inboundURL + "\n")
	signed = append(signed, bodyHash[:]...)
	// 3. HMAC-SHA256 keyed with the signing key, in base64.
	m := hmac.New(sha256.New, []byte(signingKey))
	m.Write(signed)
	if got := base64.StdEncoding.EncodeToString(m.Sum(nil)); got != goldenSig {
		t.Fatalf("the construction gives %s; want the golden %s", got, goldenSig)
	}
	if got := bird.Sign(signingKey, goldenTS, inboundURL, body); got != goldenSig {
		t.Errorf("Sign = %s; want %s", got, goldenSig)
	}
	if err := bird.Verify(signingKey, goldenTS, goldenSig, inboundURL, body, signedAt()); err != nil {
		t.Errorf("the golden signature does not verify: %v", err)
	}
	if err := bird.Verify(signingKey, goldenTSMillis, goldenSigMillis, inboundURL, body, signedAt()); err != nil {
		t.Errorf("the golden signature with a timestamp in milliseconds does not verify: %v", err)
	}

	// The hash in hex, a likely slip, is another signature.
	hexSigned := []byte(goldenTS + "\n" + inboundURL + "\n" + hex.EncodeToString(bodyHash[:]))
	m = hmac.New(sha256.New, []byte(signingKey))
	m.Write(hexSigned)
	if err := bird.Verify(signingKey, goldenTS, base64.StdEncoding.EncodeToString(m.Sum(nil)), inboundURL, body, signedAt()); !parley.IsKind(err, parley.EFORBIDDEN) {
		t.Errorf("a signature over the hex hash: %v; want 403", err)
	}
}

func TestVerifyRefusals(t *testing.T) {
	body := fixture(t, "inbound_sms.json")
	at := signedAt()
	tampered := bytes.Replace(body, []byte(`"Hi"`), []byte(`"Hello"`), 1)
	internalURL := "http://10.0.0.7:8080/webhooks/bird/" + channelID + "/messages" // the request's Host, not the public URL
	for _, tt := range []struct {
		name              string
		key, ts, sig, url string
		body              []byte
		now               time.Time
	}{
		{"a changed body", signingKey, goldenTS, goldenSig, inboundURL, tampered, at},
		{"another signing key", "another-signing-key-0002", goldenTS, goldenSig, inboundURL, body, at},
		{"a timestamp changed to look fresh", signingKey, "1767607201", goldenSig, inboundURL, body, at},
		{"the URL Parley was reached at", signingKey, goldenTS, goldenSig, internalURL, body, at},
		{"the status URL", signingKey, goldenTS, goldenSig, strings.Replace(inboundURL, "/messages", "/status", 1), body, at},
		{"six minutes late (a replay)", signingKey, goldenTS, goldenSig, inboundURL, body, at.Add(6 * time.Minute)},
		{"six minutes early", signingKey, goldenTS, goldenSig, inboundURL, body, at.Add(-6 * time.Minute)},
		{"six minutes late, in milliseconds", signingKey, goldenTSMillis, goldenSigMillis, inboundURL, body, at.Add(6 * time.Minute)},
		{"no signature", signingKey, goldenTS, "", inboundURL, body, at},
		{"no timestamp", signingKey, "", goldenSig, inboundURL, body, at},
		{"a timestamp that is not one", signingKey, "yesterday", goldenSig, inboundURL, body, at},
		{"a signature that is not base64", signingKey, goldenTS, "not base64!", inboundURL, body, at},
		{"a short signature", signingKey, goldenTS, goldenSig[:20], inboundURL, body, at},
		{"a channel without a signing key", "", goldenTS, goldenSig, inboundURL, body, at},
	} {
		if err := bird.Verify(tt.key, tt.ts, tt.sig, tt.url, tt.body, tt.now); !parley.IsKind(err, parley.EFORBIDDEN) {
			t.Errorf("%s: Verify = %v; want 403", tt.name, err)
		}
	}
	// Four minutes either way is inside the window.
	for _, d := range []time.Duration{4 * time.Minute, -4 * time.Minute} {
		if err := bird.Verify(signingKey, goldenTS, goldenSig, inboundURL, body, at.Add(d)); err != nil {
			t.Errorf("verified %v from its timestamp: %v", d, err)
		}
	}
}

// read runs a webhook body through ReadWebhook and Parse as the gateway
// does.
func read(t testing.TB, kind carrier.Kind, key string, body []byte) (*carrier.Webhook, carrier.Report, error) {
	t.Helper()
	a := bird.New("", 0)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/bird/"+key+"/"+string(kind), bytes.NewReader(body))
	w := &carrier.Webhook{Kind: kind, Key: key, Header: r.Header, URL: publicURL + r.URL.RequestURI()}
	if err := a.ReadWebhook(r, w); err != nil {
		return w, carrier.Report{}, err
	}
	rep, err := a.Parse(w)
	return w, rep, err
}

func TestAuthenticateOverThePublicURL(t *testing.T) {
	a := bird.New("", 0)
	body := fixture(t, "inbound_sms.json")
	ch := conversations.Channel{Carrier: "bird", CarrierAccountID: channelID, WebhookSecret: signingKey,
		Options: map[string]string{bird.OptionWorkspaceID: workspace}}
	r := httptest.NewRequest(http.MethodPost, "http://10.0.0.7:8080/webhooks/bird/"+channelID+"/messages", bytes.NewReader(body))
	r.Header.Set("messagebird-signature", goldenSig)
	r.Header.Set("messagebird-request-timestamp", goldenTS)
	for _, tt := range []struct {
		name string
		url  string
		ok   bool
	}{
		{"the public URL", publicURL + r.URL.RequestURI(), true},
		{"the request's own host", "http://" + r.Host + r.URL.RequestURI(), false},
	} {
		w := &carrier.Webhook{Kind: carrier.Messages, Key: channelID, Header: r.Header, URL: tt.url, Body: body}
		err := a.Authenticate(w, ch, signedAt())
		if tt.ok && err != nil || !tt.ok && !parley.IsKind(err, parley.EFORBIDDEN) {
			t.Errorf("%s: Authenticate = %v", tt.name, err)
		}
	}
	// A rotated key at Bird: refused until the channel has it.
	w := &carrier.Webhook{Kind: carrier.Messages, Key: channelID, Header: r.Header, URL: inboundURL, Body: body}
	rotated := ch
	rotated.WebhookSecret = "rotated-signing-key-0003"
	if err := a.Authenticate(w, rotated, signedAt()); !parley.IsKind(err, parley.EFORBIDDEN) {
		t.Errorf("a channel with another key: %v; want 403", err)
	}
}

func TestReadInboundTexts(t *testing.T) {
	w, rep, err := read(t, carrier.Messages, channelID, fixture(t, "inbound_sms.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Bird's inbound payload names the connector, not the number: the
	// channel is found by its id alone.
	if !w.Inbound || w.AccountID != channelID || w.To != "" {
		t.Errorf("routing = inbound %v, account %q, to %q; want inbound, the channel, no number", w.Inbound, w.AccountID, w.To)
	}
	want := conversations.InboundText{CarrierMessageID: "a3f1c9e2-5b7d-4e8a-9c0f-1d2e3f4a5b6c", From: "+14155550100", Body: "Hi", Segments: 1}
	if len(rep.Texts) != 1 || rep.Texts[0].CarrierMessageID != want.CarrierMessageID || rep.Texts[0].From != want.From ||
		rep.Texts[0].To != "" || rep.Texts[0].Body != want.Body || rep.Texts[0].Segments != 1 || len(rep.Texts[0].MediaURLs) != 0 {
		t.Errorf("texts = %+v; want %+v", rep.Texts, want)
	}

	// An image message with its caption, to a connector that gives its
	// number.
	w, rep, err = read(t, carrier.Messages, channelID, fixture(t, "inbound_mms.json"))
	if err != nil {
		t.Fatal(err)
	}
	if w.To != "+14155550199" || len(rep.Texts) != 1 || rep.Texts[0].To != w.To || rep.Texts[0].Body != "The leak under the sink" ||
		rep.Texts[0].Segments != 2 || len(rep.Texts[0].MediaURLs) != 2 || !strings.HasSuffix(rep.Texts[0].MediaURLs[1], "/media/9e3d7a41") {
		t.Errorf("MMS: to %q, %+v; want the number, the caption, two parts and both media URLs", w.To, rep.Texts)
	}

	// The channel id in the URL is read in any case, and kept in lower.
	if w, _, err := read(t, carrier.Messages, strings.ToUpper(channelID), fixture(t, "inbound_sms.json")); err != nil || w.AccountID != channelID {
		t.Errorf("an upper-case channel id: account %q, %v", w.AccountID, err)
	}
}

func TestReadStatusReceipts(t *testing.T) {
	delivered := string(fixture(t, "outbound_delivered.json"))
	for _, tt := range []struct {
		name string
		body []byte
		want []carrier.Receipt
	}{
		{"delivered", []byte(delivered),
			[]carrier.Receipt{{CarrierMessageID: "40385f64-5717-4562-b3fc-2c963f66afa6", Status: conversations.MessageDelivered}}},
		// Bird has no "recipient opted out" code: never Unsubscribed.
		{"delivery failed", fixture(t, "outbound_failed.json"),
			[]carrier.Receipt{{CarrierMessageID: "5e1b9c3a-7d2f-4a8e-b6c0-1f2e3d4c5b6a", Status: conversations.MessageUndelivered, ErrorCode: 15005}}},
		{"sending failed", []byte(strings.Replace(delivered, `"status":"delivered"`, `"status":"sending_failed","failure":{"code":"14001"}`, 1)),
			[]carrier.Receipt{{CarrierMessageID: "40385f64-5717-4562-b3fc-2c963f66afa6", Status: conversations.MessageFailed, ErrorCode: 14001}}},
		{"accepted", []byte(strings.Replace(delivered, `"status":"delivered"`, `"status":"accepted"`, 1)),
			[]carrier.Receipt{{CarrierMessageID: "40385f64-5717-4562-b3fc-2c963f66afa6", Status: conversations.MessageQueued}}},
		{"sent", []byte(strings.Replace(delivered, `"status":"delivered"`, `"status":"sent"`, 1)),
			[]carrier.Receipt{{CarrierMessageID: "40385f64-5717-4562-b3fc-2c963f66afa6", Status: conversations.MessageSent}}},
		{"a status Parley does not track", []byte(strings.Replace(delivered, `"status":"delivered"`, `"status":"processing"`, 1)), nil},
		{"a failure code that is not a number", []byte(strings.Replace(delivered, `"status":"delivered"`, `"status":"delivery_failed","failure":{"code":{"x":1}}`, 1)),
			[]carrier.Receipt{{CarrierMessageID: "40385f64-5717-4562-b3fc-2c963f66afa6", Status: conversations.MessageUndelivered}}},
	} {
		w, rep, err := read(t, carrier.Status, channelID, tt.body)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if w.Inbound || len(rep.Texts) != 0 || len(rep.Statuses) != len(tt.want) || (len(tt.want) == 1 && rep.Statuses[0] != tt.want[0]) {
			t.Errorf("%s: receipts = %+v; want %+v", tt.name, rep.Statuses, tt.want)
		}
	}
	// Both events may come to either URL: the body says which it is.
	if w, rep, err := read(t, carrier.Status, channelID, fixture(t, "inbound_sms.json")); err != nil || !w.Inbound || len(rep.Texts) != 1 {
		t.Errorf("an inbound text at the status URL: inbound %v, %+v, %v", w.Inbound, rep, err)
	}
	if w, rep, err := read(t, carrier.Messages, channelID, []byte(delivered)); err != nil || w.Inbound || len(rep.Statuses) != 1 {
		t.Errorf("a receipt at the messages URL: inbound %v, %+v, %v", w.Inbound, rep, err)
	}
	// Events Parley does not read are taken and change nothing.
	for _, other := range []string{
		`{"service":"channels","event":"whatsapp.inbound","payload":{"id":"x","channelId":"another"}}`,
		`{"service":"contacts","event":"contact.created","payload":{"id":"y"}}`,
	} {
		if _, rep, err := read(t, carrier.Status, channelID, []byte(other)); err != nil || len(rep.Texts)+len(rep.Statuses) != 0 {
			t.Errorf("%s: %+v, %v; want nothing and no error", other, rep, err)
		}
	}
}

func TestRefuseBadWebhooks(t *testing.T) {
	sms := string(fixture(t, "inbound_sms.json"))
	replace := func(old, new string) []byte {
		if !strings.Contains(sms, old) {
			t.Fatalf("the fixture has no %s", old)
		}
		return []byte(strings.Replace(sms, old, new, 1))
	}
	const otherChannel = "6d2e3f40-5b6c-4d7e-8f90-ab1c2d3e4f50"
	for _, tt := range []struct {
		name  string
		key   string
		body  []byte
		kind  string
		field string
	}{
		{"no channel in the URL", "", []byte(sms), parley.ENOTFOUND, ""},
		{"not JSON", channelID, []byte("originator=31612345678&body=hi"), parley.EMALFORMED, ""},
		{"truncated JSON", channelID, []byte(sms[:100]), parley.EMALFORMED, ""},
		{"a payload that is not an object", channelID, []byte(`{"service":"channels","event":"sms.inbound","payload":[]}`), parley.EMALFORMED, ""},
		{"another channel's text", otherChannel, []byte(sms), parley.ENOTFOUND, ""},
		{"a text naming no channel", channelID, replace(`"channelId":"`+channelID+`",`, ""), parley.ENOTFOUND, ""},
		{"a sender that is no address", channelID, replace(`"identifierValue":"+14155550100"`, `"identifierValue":"ACME!"`), parley.EINVALID, "payload.sender.contact.identifierValue"},
		{"no sender", channelID, replace(`"identifierValue":"+14155550100"`, `"identifierValue":""`), parley.EINVALID, "payload.sender.contact.identifierValue"},
		{"no message id", channelID, replace(`"id":"a3f1c9e2-5b7d-4e8a-9c0f-1d2e3f4a5b6c"`, `"id":""`), parley.EINVALID, "payload.id"},
		{"a NUL in the text", channelID, replace(`"text":{"text":"Hi"}`, `"text":{"text":"H\u0000i"}`), parley.EINVALID, "payload.body.text.text"},
		{"a NUL in a caption", channelID, replace(`"body":{"type":"text","text":{"text":"Hi"}}`, `"body":{"type":"image","image":{"text":"\u0000","images":[]}}`), parley.EINVALID, "payload.body.image.text"},
		{"media that is not a URL", channelID, replace(`"body":{"type":"text","text":{"text":"Hi"}}`, `"body":{"type":"image","image":{"images":[{"mediaUrl":"javascript:alert(1)"}]}}`), parley.EINVALID, "payload.body.image.images.0.mediaUrl"},
		{"a file that is not a URL", channelID, replace(`"body":{"type":"text","text":{"text":"Hi"}}`, `"body":{"type":"file","file":{"files":[{"mediaUrl":"https://media.api.bird.com/a"},{"mediaUrl":"file:///etc/passwd"}]}}`), parley.EINVALID, "payload.body.file.files.1.mediaUrl"},
		{"a receipt without a status", channelID, bytes.Replace(fixture(t, "outbound_delivered.json"), []byte(`"status":"delivered",`), nil, 1), parley.EINVALID, "payload.status"},
	} {
		_, _, err := read(t, carrier.Messages, tt.key, tt.body)
		var pe *parley.Error
		if !parley.IsKind(err, tt.kind) || (tt.field != "" && (!errors.As(err, &pe) || pe.Fields[tt.field] == "")) {
			t.Errorf("%s: %v; want %s naming %q", tt.name, err, tt.kind, tt.field)
		}
	}
}

// A text with more attachments than Parley reads keeps the first
// carrier.MaxMedia.
func TestMediaBound(t *testing.T) {
	images := make([]string, carrier.MaxMedia+3)
	for i := range images {
		images[i] = `{"mediaUrl":"https://media.api.bird.com/m/` + strconv.Itoa(i) + `"}`
	}
	body := strings.Replace(string(fixture(t, "inbound_sms.json")), `"body":{"type":"text","text":{"text":"Hi"}}`,
		`"body":{"type":"image","image":{"images":[`+strings.Join(images, ",")+`]}}`, 1)
	_, rep, err := read(t, carrier.Messages, channelID, []byte(body))
	if err != nil || len(rep.Texts) != 1 || len(rep.Texts[0].MediaURLs) != carrier.MaxMedia {
		t.Fatalf("%+v, %v; want %d media URLs", rep, err, carrier.MaxMedia)
	}
}

func TestAcknowledge(t *testing.T) {
	rec := httptest.NewRecorder()
	bird.New("", 0).Acknowledge(rec, &carrier.Webhook{})
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("Acknowledge = %d %q; want 200 and no body", rec.Code, rec.Body.String())
	}
}

// Any body, however broken, is refused or read: never a panic, and what
// is read can be stored.
func FuzzParseWebhook(f *testing.F) {
	for _, name := range []string{"inbound_sms.json", "inbound_mms.json", "outbound_delivered.json", "outbound_failed.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"service":"channels","event":"sms.inbound","payload":{"channelId":"` + channelID + `","body":{"type":"image","image":{"images":[{"mediaUrl":"%"}]}}}}`))
	f.Add([]byte(`{"service":"channels","event":"sms.outbound","payload":{"id":"x","channelId":"` + channelID + `","status":"delivered","failure":{"code":-1}}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, kind := range []carrier.Kind{carrier.Messages, carrier.Status} {
			_, rep, err := read(t, kind, channelID, body)
			carriertest.CheckReport(t, rep, err)
			for _, rc := range rep.Statuses {
				if rc.Unsubscribed {
					t.Fatalf("read an opt-out, which Bird has no code for: %+v", rc)
				}
			}
		}
	})
}
