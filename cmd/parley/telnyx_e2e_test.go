package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/gateway/telnyx/telnyxtest"
	"github.com/parleyhq/parley/store/storetest"
)

const (
	telnyxProfile = "4001767e-ce0f-4cae-9d5f-0d5e636e7809"
	telnyxKey     = "KEYe2e0000000000000000000000000001"
	telnyxNumber  = "+14155550299"
)

// telnyxEnv is Parley booted with a fake Telnyx as its Telnyx API and as
// the phones.
type telnyxEnv struct {
	*env
	telnyx *telnyxtest.Carrier
	key    ed25519.PrivateKey
}

func bootTelnyx(t *testing.T, dbURL string, unsubscribed ...string) *telnyxEnv {
	t.Helper()
	var fake atomic.Pointer[telnyxtest.Carrier]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fake.Load().ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	e := boot(t, dbURL, func(c *Config, _ *twiliotestConfig) { c.TelnyxAPIURL = srv.URL })
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	unsub := map[string]bool{}
	for _, p := range unsubscribed {
		unsub[p] = true
	}
	c := telnyxtest.New(telnyxtest.Config{APIKey: telnyxKey, Profile: telnyxProfile, Numbers: []string{telnyxNumber}, Key: key,
		ParleyURL: e.base, PublicURL: publicURL, StatusDelay: 10 * time.Millisecond, Unsubscribed: unsub})
	fake.Store(c)
	t.Cleanup(c.Close)
	return &telnyxEnv{env: e, telnyx: c, key: key}
}

// textTelnyx makes a phone text the Telnyx number; it fails unless Parley
// answered 200.
func (e *telnyxEnv) textTelnyx(from, body string) {
	e.t.Helper()
	status, err := e.telnyx.SendInbound(context.Background(), telnyxtest.Inbound{From: from, To: telnyxNumber, Text: body})
	if err != nil || status != http.StatusOK {
		e.t.Fatalf("inbound webhook: %d, %v", status, err)
	}
}

// postSigned posts a raw event to a Telnyx webhook URL with a timestamp
// and a key of the test's choosing.
func (e *telnyxEnv) postSigned(path string, body []byte, key ed25519.PrivateKey, at time.Time) int {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.base+path, bytes.NewReader(body))
	ts := strconv.FormatInt(at.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Telnyx-Timestamp", ts)
	req.Header.Set("Telnyx-Signature-Ed25519", telnyxtest.Sign(key, ts, body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// A Telnyx number end to end, on each database: connected with its
// credentials verified, texts in, STOP confirmed through Telnyx, replies
// out with their receipts, Telnyx's opt-out error recorded, forged and
// stale webhooks refused with nothing stored.
func TestTelnyxEndToEnd(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			const alice, bob, carol = "+14155550601", "+14155550602", "+14155550603"
			e := bootTelnyx(t, storetest.URL(t, dialect), carol)
			inbox := e.must(201, e.admin("POST", "/v1/inboxes", map[string]any{"name": "Support", "kind": "support"}))["id"]
			body := map[string]any{"carrier": "telnyx", "phone_number": telnyxNumber, "inbox_id": inbox, "account_id": telnyxProfile,
				"auth_token": telnyxKey, "webhook_secret": e.telnyx.PublicKey()}
			with := func(k string, v any) map[string]any {
				b := map[string]any{}
				for k, v := range body {
					b[k] = v
				}
				b[k] = v
				return b
			}
			wantAPIError(t, e.admin("POST", "/v1/channels", with("auth_token", "KEYwrong")), 422, "carrier_credentials_invalid", "auth_token")
			wantAPIError(t, e.admin("POST", "/v1/channels", with("webhook_secret", "")), 422, "validation_failed", "webhook_secret")
			wantAPIError(t, e.admin("POST", "/v1/channels", with("account_id", "not-a-profile")), 422, "validation_failed", "account_id")
			ch := e.must(201, e.admin("POST", "/v1/channels", body))
			base := publicURL + "/webhooks/telnyx/" + telnyxProfile
			if ch["inbound_webhook_url"] != base+"/messages" || ch["status_webhook_url"] != base+"/status" || ch["carrier"] != "telnyx" {
				t.Fatalf("channel = %v; want Telnyx's webhook URLs under %s", ch, base)
			}
			if bytes.Contains(e.admin("GET", "/v1/channels", nil).Body, []byte(e.telnyx.PublicKey())) {
				t.Error("the channel list shows the webhook secret")
			}

			// A text in makes a thread.
			e.textTelnyx(alice, "Is the plumber coming today?")
			conv := e.conversationOf(alice)
			msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", conv["id"]), nil))["data"].([]any)
			if len(msgs) != 1 || msgs[0].(map[string]any)["body"] != "Is the plumber coming today?" {
				t.Fatalf("thread = %v", msgs)
			}

			// Forged, stale, malformed, misaddressed: refused, nothing stored.
			event := func(id, from, text string) []byte {
				b, _ := json.Marshal(map[string]any{"data": map[string]any{"event_type": "message.received", "id": "ev-" + id, "payload": map[string]any{
					"id": id, "direction": "inbound", "from": map[string]any{"phone_number": from},
					"to": []any{map[string]any{"phone_number": telnyxNumber}}, "text": text, "parts": 1}}})
				return b
			}
			_, forger, _ := ed25519.GenerateKey(rand.Reader)
			path := "/webhooks/telnyx/" + telnyxProfile + "/messages"
			for _, tt := range []struct {
				name string
				path string
				body []byte
				key  ed25519.PrivateKey
				at   time.Time
				want int
			}{
				{"signed with another key", path, event("f1", bob, "forged"), forger, time.Now(), 403},
				{"signed six minutes ago", path, event("f2", bob, "replayed"), e.key, time.Now().Add(-6 * time.Minute), 403},
				{"not JSON", path, []byte("From=%2B14155550602&Text=hi"), e.key, time.Now(), 400},
				{"an unknown messaging profile", "/webhooks/telnyx/5001767e-ce0f-4cae-9d5f-0d5e636e7809/messages", event("f3", bob, "lost"), e.key, time.Now(), 404},
				{"a carrier Parley does not speak", "/webhooks/pigeon/" + telnyxProfile + "/messages", event("f4", bob, "coo"), e.key, time.Now(), 404},
			} {
				if got := e.postSigned(tt.path, tt.body, tt.key, tt.at); got != tt.want {
					t.Errorf("%s: %d; want %d", tt.name, got, tt.want)
				}
			}
			if convs := e.must(200, e.admin("GET", "/v1/conversations?contact_phone="+url.QueryEscape(bob), nil))["data"].([]any); len(convs) != 0 {
				t.Errorf("refused webhooks made %d conversations", len(convs))
			}
			// A repeated message id is a no-op.
			for range 2 {
				if got := e.postSigned(path, event("dup-1", bob, "only once"), e.key, time.Now()); got != 200 {
					t.Fatalf("a signed text: %d", got)
				}
			}
			bobConv := e.conversationOf(bob)
			if n := len(e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", bobConv["id"]), nil))["data"].([]any)); n != 1 {
				t.Errorf("a text posted twice is %d messages; want 1", n)
			}

			// STOP is confirmed through Telnyx.
			e.textTelnyx(alice, "STOP")
			e.eventually("the opt-out confirmation sent through Telnyx", func() bool { return len(e.telnyxTo(alice)) == 1 })
			if !e.must(200, e.admin("GET", "/v1/optouts?phone="+url.QueryEscape(alice), nil))["opted_out"].(bool) {
				t.Error("STOP did not opt alice out")
			}

			// A reply goes out through Telnyx and its receipts land.
			e.must(202, e.admin("POST", fmt.Sprintf("/v1/conversations/%s/messages", bobConv["id"]), map[string]any{"body": "Tomorrow at 9"}))
			e.eventually("the reply delivered", func() bool { return e.lastStatus(bobConv["id"]) == "delivered" })
			if got := e.telnyxTo(bob); len(got) != 1 || got[0] != "Tomorrow at 9" {
				t.Errorf("bob's phone got %q", got)
			}

			// Telnyx's "blocked due to STOP" (40300) fails the text and
			// records the opt-out.
			e.textTelnyx(carol, "Hello?")
			carolConv := e.conversationOf(carol)
			e.must(202, e.admin("POST", fmt.Sprintf("/v1/conversations/%s/messages", carolConv["id"]), map[string]any{"body": "Hi Carol"}))
			e.eventually("the reply failed", func() bool { return e.lastStatus(carolConv["id"]) == "failed" })
			e.eventually("carol opted out", func() bool {
				return e.must(200, e.admin("GET", "/v1/optouts?phone="+url.QueryEscape(carol), nil))["opted_out"].(bool)
			})
		})
	}
}

// telnyxTo returns the bodies the fake Telnyx sent to phone.
func (e *telnyxEnv) telnyxTo(phone string) []string {
	var out []string
	for _, m := range e.telnyx.Messages() {
		if m.To == phone {
			out = append(out, m.Text)
		}
	}
	return out
}

// lastStatus is the status of a conversation's newest message.
func (e *env) lastStatus(convID any) string {
	msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", convID), nil))["data"].([]any)
	if len(msgs) == 0 {
		return ""
	}
	s, _ := msgs[len(msgs)-1].(map[string]any)["status"].(string)
	return s
}
