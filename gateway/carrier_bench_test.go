package gateway_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
	"github.com/parleyhq/parley/gateway/telnyx"
	"github.com/parleyhq/parley/gateway/telnyx/telnyxtest"
	"github.com/parleyhq/parley/gateway/twilio"
	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
)

// BenchmarkWebhookAdapter measures what a carrier's adapter costs one
// inbound text before the store sees it: reading the body, the ids that
// find the channel, the signature check (Twilio's HMAC-SHA1, Telnyx's
// Ed25519) and parsing. BenchmarkInboundWebhook's reply case is the whole
// webhook for comparison (docs/PERFORMANCE.md).
func BenchmarkWebhookAdapter(b *testing.B) {
	form := url.Values{"MessageSid": {"SM" + "0123456789abcdef0123456789abcdef"}, "AccountSid": {benchSID},
		"From": {"+14155550100"}, "To": {benchNumber}, "Body": {"Hi, is my order ready?"}, "NumSegments": {"1"}, "NumMedia": {"0"}}
	twBody := []byte(form.Encode())
	twSig := twiliotest.Sign(benchToken, benchPublic+inboundPath, form)
	twChannel := conversations.Channel{AuthToken: benchToken}

	seed := make([]byte, ed25519.SeedSize)
	key := ed25519.NewKeyFromSeed(seed)
	const profile = "4001767e-ce0f-4cae-9d5f-0d5e636e7809"
	txBody := []byte(`{"data":{"record_type":"event","id":"6c1f3b9e-1b0a-4f3e-9a57-2f0d5c3e8a11","event_type":"message.received","payload":{"id":"7ee4241c-f127-47e5-9c34-3aac291f8058","direction":"inbound","type":"SMS","messaging_profile_id":"` + profile + `","from":{"phone_number":"+14155550100"},"to":[{"phone_number":"` + benchNumber + `","status":"delivered"}],"text":"Hi, is my order ready?","media":[],"parts":1}},"meta":{"attempt":1}}`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	txSig := telnyxtest.Sign(key, ts, txBody)
	txChannel := conversations.Channel{WebhookSecret: telnyxPublicKey(key)}

	for _, tt := range []struct {
		name    string
		a       carrier.Adapter
		path    string
		ctype   string
		body    []byte
		headers map[string]string
		ch      conversations.Channel
		key     string
	}{
		{"twilio", twilio.Adapter{}, inboundPath, "application/x-www-form-urlencoded", twBody, map[string]string{"X-Twilio-Signature": twSig}, twChannel, ""},
		{"telnyx", telnyx.New("", 0), "/webhooks/telnyx/" + profile + "/messages", "application/json", txBody,
			map[string]string{telnyx.TimestampHeader: ts, telnyx.SignatureHeader: txSig}, txChannel, profile},
	} {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, tt.path, bytes.NewReader(tt.body))
				r.Header.Set("Content-Type", tt.ctype)
				for k, v := range tt.headers {
					r.Header.Set(k, v)
				}
				w := &carrier.Webhook{Kind: carrier.Messages, URL: benchPublic + tt.path, Header: r.Header, Key: tt.key}
				if err := tt.a.ReadWebhook(r, w); err != nil {
					b.Fatal(err)
				}
				if err := tt.a.Authenticate(w, tt.ch, time.Now()); err != nil {
					b.Fatal(err)
				}
				if rep, err := tt.a.Parse(w); err != nil || len(rep.Texts) != 1 {
					b.Fatal(rep, err)
				}
			}
		})
	}
}

func telnyxPublicKey(key ed25519.PrivateKey) string {
	return base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
}
