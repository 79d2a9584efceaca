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
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/gateway/bandwidth/bandwidthtest"
	"github.com/parleyhq/parley/gateway/bird"
	"github.com/parleyhq/parley/gateway/bird/birdtest"
	"github.com/parleyhq/parley/gateway/plivo"
	"github.com/parleyhq/parley/gateway/plivo/plivotest"
	"github.com/parleyhq/parley/gateway/telnyx/telnyxtest"
	"github.com/parleyhq/parley/gateway/vonage"
	"github.com/parleyhq/parley/gateway/vonage/vonagetest"
	"github.com/parleyhq/parley/store/storetest"
)

// The business number of every carrier's end-to-end test.
const carrierNumber = "+14155550299"

// fakeCarrier is one carrier's fake as the end-to-end test drives it.
type fakeCarrier struct {
	name string
	// channel is its POST /v1/channels body, less the inbox; badKey
	// changes it so that the carrier refuses the credentials.
	channel map[string]any
	badKey  map[string]any
	// text makes a phone text the business number, with the carrier's
	// message id (fresh when empty); it returns Parley's HTTP status.
	text func(id, from, body string) int
	// sentTo lists the bodies the carrier took for a phone.
	sentTo func(phone string) []string
	// forgeries are requests Parley must refuse, with the status it must
	// answer.
	forgeries []forgery
	// connected hears of the channel once Parley made it (when the
	// carrier is set up with its webhook URLs afterwards).
	connected func(channel map[string]any)
	// rotateSecret changes the carrier's webhook secret (a new key pair,
	// a new callback password) and returns the new one; nil for a carrier
	// that signs with the auth token.
	rotateSecret func() string
	// noOptOutCode: the carrier has no "unsubscribed" error (Bird), so
	// only Parley's own consent check keeps texts from opted-out phones.
	noOptOutCode bool
	// more checks what only this carrier does, at the end.
	more  func(alice string)
	close func()
}

type forgery struct {
	name string
	post func() int
	want int
}

// Phones of each carrier's test: texts to the first the carrier fails with
// its "unsubscribed" error; texts to the second it takes, then drops the
// connection instead of answering.
const (
	unsubscribedPhone = "+14155550603"
	hangUpPhone       = "+14155550604"
)

// Each carrier end to end, on each database, through the binary: its
// channel connected with the credentials verified, a text in, a repeat
// dropped, STOP confirmed through the carrier, a reply out with its
// receipts, the carrier's opt-out error recorded, forged webhooks
// refused with nothing stored.
func TestCarriersEndToEnd(t *testing.T) {
	for _, name := range []string{"telnyx", "plivo", "bandwidth", "vonage", "bird"} {
		for _, dialect := range storetest.Dialects {
			t.Run(name+"/"+dialect, func(t *testing.T) {
				var fake *fakeCarrier
				var api atomic.Value // the fake's API, once Parley's address is known
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { api.Load().(http.Handler).ServeHTTP(w, r) }))
				t.Cleanup(srv.Close)
				e := boot(t, storetest.URL(t, dialect), func(c *Config, _ *twiliotestConfig) {
					c.TelnyxAPIURL, c.PlivoAPIURL, c.BandwidthAPIURL, c.VonageAPIURL, c.BirdAPIURL = srv.URL, srv.URL, srv.URL, srv.URL, srv.URL
				})
				switch name {
				case "telnyx":
					fake = newFakeTelnyx(t, e, func(h http.Handler) { api.Store(h) })
				case "plivo":
					fake = newFakePlivo(t, e, func(h http.Handler) { api.Store(h) })
				case "bandwidth":
					fake = newFakeBandwidth(t, e, func(h http.Handler) { api.Store(h) })
				case "vonage":
					fake = newFakeVonage(t, e, func(h http.Handler) { api.Store(h) })
				case "bird":
					fake = newFakeBird(t, e, func(h http.Handler) { api.Store(h) })
				}
				t.Cleanup(fake.close)
				carrierEndToEnd(t, e, fake)
			})
		}
	}
}

func carrierEndToEnd(t *testing.T, e *env, c *fakeCarrier) {
	const alice, bob = "+14155550601", "+14155550602"
	inbox := e.must(201, e.admin("POST", "/v1/inboxes", map[string]any{"name": "Support", "kind": "support"}))["id"]
	body := func(change map[string]any) map[string]any {
		b := map[string]any{"inbox_id": inbox}
		for k, v := range c.channel {
			b[k] = v
		}
		for k, v := range change {
			b[k] = v
		}
		return b
	}
	wantAPIError(t, e.admin("POST", "/v1/channels", body(c.badKey)), 422, "carrier_credentials_invalid", "auth_token")
	ch := e.must(201, e.admin("POST", "/v1/channels", body(nil)))
	base := publicURL + "/webhooks/" + c.name + "/" + url.PathEscape(fmt.Sprint(c.channel["account_id"]))
	if inbound, _ := ch["inbound_webhook_url"].(string); !strings.HasPrefix(inbound, base) || !strings.HasSuffix(inbound, "/messages") ||
		ch["status_webhook_url"] != strings.TrimSuffix(inbound, "/messages")+"/status" || ch["carrier"] != c.name {
		t.Fatalf("channel = %v; want the webhook URLs under %s", ch, base)
	}
	if c.connected != nil {
		c.connected(ch)
	}
	if secret, _ := c.channel["webhook_secret"].(string); secret != "" && bytes.Contains(e.admin("GET", "/v1/channels", nil).Body, []byte(secret)) {
		t.Error("the channel list shows the webhook secret")
	}

	// A text in makes a thread; the same message id again is a no-op.
	id := "e2e-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for range 2 {
		if got := c.text(id, alice, "Is the plumber coming today?"); got != 200 {
			t.Fatalf("inbound text: %d", got)
		}
	}
	conv := e.conversationOf(alice)
	if conv["business_phone"] != carrierNumber {
		t.Errorf("the thread's business_phone = %q, want the channel's number %s", conv["business_phone"], carrierNumber)
	}
	if msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", conv["id"]), nil))["data"].([]any); len(msgs) != 1 ||
		msgs[0].(map[string]any)["body"] != "Is the plumber coming today?" {
		t.Fatalf("thread = %v; want the one text", msgs)
	}

	for _, f := range c.forgeries {
		if got := f.post(); got != f.want {
			t.Errorf("%s: %d; want %d", f.name, got, f.want)
		}
	}
	if convs := e.must(200, e.admin("GET", "/v1/conversations?contact_phone="+url.QueryEscape(bob), nil))["data"].([]any); len(convs) != 0 {
		t.Errorf("refused webhooks made %d conversations", len(convs))
	}

	// STOP is confirmed through the carrier.
	if got := c.text("", alice, "STOP"); got != 200 {
		t.Fatalf("STOP: %d", got)
	}
	e.eventually("the opt-out confirmation sent through "+c.name, func() bool { return len(c.sentTo(alice)) == 1 })
	if !e.must(200, e.admin("GET", "/v1/optouts?phone="+url.QueryEscape(alice), nil))["opted_out"].(bool) {
		t.Error("STOP did not opt alice out")
	}

	// A reply goes out through the carrier and its receipts land.
	c.text("", bob, "When can you come?")
	bobConv := e.conversationOf(bob)
	e.must(202, e.admin("POST", fmt.Sprintf("/v1/conversations/%s/messages", bobConv["id"]), map[string]any{"body": "Tomorrow at 9"}))
	e.eventually("the reply delivered", func() bool { return e.lastStatus(bobConv["id"]) == "delivered" })
	if got := c.sentTo(bob); len(got) != 1 || got[0] != "Tomorrow at 9" {
		t.Errorf("bob's phone got %q", got)
	}

	// The carrier's "unsubscribed" error fails the text and records the
	// opt-out.
	if !c.noOptOutCode {
		carrierOptOut(e, c)
	}

	// A webhook secret rotated at the carrier: refused until the channel
	// has the new one, taken once it has; a carrier with none refuses one.
	path := fmt.Sprintf("/v1/channels/%s", ch["id"])
	if c.rotateSecret == nil {
		wantAPIError(t, e.admin("PATCH", path, map[string]any{"webhook_secret": "something-secret-0001"}), 422, "validation_failed", "webhook_secret")
	} else {
		secret := c.rotateSecret()
		if got := c.text("", bob, "sent with the new secret"); got != 401 && got != 403 {
			t.Errorf("a webhook with a secret the channel does not have yet: %d; want 401 or 403", got)
		}
		wantAPIError(t, e.admin("PATCH", path, map[string]any{"webhook_secret": "x"}), 422, "validation_failed", "webhook_secret")
		e.must(200, e.admin("PATCH", path, map[string]any{"webhook_secret": secret}))
		if got := c.text("", bob, "sent with the new secret"); got != 200 {
			t.Errorf("a webhook with the rotated secret: %d; want 200", got)
		}
	}

	// The carrier took a reply but its answer never came (it crashed, or
	// the network lost it). These carriers list no sent texts to look it
	// up by, so it fails rather than reach the phone twice.
	c.text("", hangUpPhone, "Are you still open?")
	dave := e.conversationOf(hangUpPhone)
	e.must(202, e.admin("POST", fmt.Sprintf("/v1/conversations/%s/messages", dave["id"]), map[string]any{"body": "Until six"}))
	e.eventually("the interrupted reply failed", func() bool { return e.lastStatus(dave["id"]) == "failed" })
	if got := c.sentTo(hangUpPhone); len(got) != 1 {
		t.Errorf("the carrier took the interrupted reply %d times; want once", len(got))
	}
	if c.more != nil {
		c.more(alice)
	}
}

// messagesOf lists the bodies of a conversation's messages, oldest first.
func (e *env) messagesOf(convID any) []string {
	msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", convID), nil))["data"].([]any)
	bodies := make([]string, len(msgs))
	for i, m := range msgs {
		bodies[i], _ = m.(map[string]any)["body"].(string)
	}
	return bodies
}

// carrierOptOut has the carrier fail a reply with its "unsubscribed"
// error: the text fails and the opt-out is recorded.
func carrierOptOut(e *env, c *fakeCarrier) {
	c.text("", unsubscribedPhone, "Hello?")
	carol := e.conversationOf(unsubscribedPhone)
	e.must(202, e.admin("POST", fmt.Sprintf("/v1/conversations/%s/messages", carol["id"]), map[string]any{"body": "Hi Carol"}))
	// Failed (the carrier refused to send it) or undelivered (it was
	// refused on the way), as the carrier reports it.
	e.eventually("the reply failed", func() bool { s := e.lastStatus(carol["id"]); return s == "failed" || s == "undelivered" })
	e.eventually("the phone opted out", func() bool {
		return e.must(200, e.admin("GET", "/v1/optouts?phone="+url.QueryEscape(unsubscribedPhone), nil))["opted_out"].(bool)
	})
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

// post sends a raw webhook to Parley.
func (e *env) post(path, contentType string, body []byte, header http.Header) int {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.base+path, bytes.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// get sends a raw webhook to Parley by GET, its parameters in the path's
// query.
func (e *env) get(pathAndQuery string, header http.Header) int {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.base+pathAndQuery, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// lastMessageOf is the last text of phone's thread.
func (e *env) lastMessageOf(phone string) string {
	e.t.Helper()
	msgs := e.messagesOf(e.conversationOf(phone)["id"])
	if len(msgs) == 0 {
		return ""
	}
	return msgs[len(msgs)-1]
}

func bodiesTo(msgs []telnyxtest.Message, phone string) []string {
	var out []string
	for _, m := range msgs {
		if m.To == phone {
			out = append(out, m.Text)
		}
	}
	return out
}

func newFakeTelnyx(t *testing.T, e *env, serveFake func(http.Handler)) *fakeCarrier {
	const profile, key = "4001767e-ce0f-4cae-9d5f-0d5e636e7809", "KEYe2e0000000000000000000000000001"
	_, signer, _ := ed25519.GenerateKey(rand.Reader)
	fake := telnyxtest.New(telnyxtest.Config{APIKey: key, Profile: profile, Numbers: []string{carrierNumber}, Key: signer,
		ParleyURL: e.base, PublicURL: publicURL, StatusDelay: 10 * time.Millisecond, Unsubscribed: map[string]bool{unsubscribedPhone: true}, HangUpOn: map[string]bool{hangUpPhone: true}})
	serveFake(fake)
	path := "/webhooks/telnyx/" + profile + "/messages"
	event := func(id, from, text string) []byte {
		b, _ := json.Marshal(map[string]any{"data": map[string]any{"event_type": "message.received", "id": "ev-" + id, "payload": map[string]any{
			"id": id, "direction": "inbound", "from": map[string]any{"phone_number": from},
			"to": []any{map[string]any{"phone_number": carrierNumber}}, "text": text, "parts": 1}}})
		return b
	}
	signed := func(p string, body []byte, k ed25519.PrivateKey, at time.Time) func() int {
		return func() int {
			ts := strconv.FormatInt(at.Unix(), 10)
			return e.post(p, "application/json", body, http.Header{"Telnyx-Timestamp": {ts}, "Telnyx-Signature-Ed25519": {telnyxtest.Sign(k, ts, body)}})
		}
	}
	_, forger, _ := ed25519.GenerateKey(rand.Reader)
	const bob = "+14155550602"
	return &fakeCarrier{
		name:         "telnyx",
		channel:      map[string]any{"carrier": "telnyx", "phone_number": carrierNumber, "account_id": profile, "auth_token": key, "webhook_secret": fake.PublicKey()},
		rotateSecret: fake.RotateKey,
		badKey:       map[string]any{"auth_token": "KEYwrong"},
		text: func(id, from, body string) int {
			status, err := fake.SendInbound(context.Background(), telnyxtest.Inbound{ID: id, From: from, To: carrierNumber, Text: body})
			if err != nil {
				t.Fatal(err)
			}
			return status
		},
		sentTo: func(phone string) []string { return bodiesTo(fake.Messages(), phone) },
		forgeries: []forgery{
			{"signed with another key", signed(path, event("f1", bob, "forged"), forger, time.Now()), 403},
			{"signed six minutes ago", signed(path, event("f2", bob, "replayed"), signer, time.Now().Add(-6*time.Minute)), 403},
			{"not JSON", signed(path, []byte("From=%2B14155550602&Text=hi"), signer, time.Now()), 400},
			{"an unknown messaging profile", signed("/webhooks/telnyx/5001767e-ce0f-4cae-9d5f-0d5e636e7809/messages", event("f3", bob, "lost"), signer, time.Now()), 404},
			{"a carrier Parley does not speak", signed("/webhooks/pigeon/"+profile+"/messages", event("f4", bob, "coo"), signer, time.Now()), 404},
		},
		close: fake.Close,
	}
}

func newFakeBandwidth(t *testing.T, e *env, serveFake func(http.Handler)) *fakeCarrier {
	const account, app, user, password = "9900001", "93de2206-9669-4e07-948d-329f4b722ee2", "parley-api", "api-password"
	const cbUser, cbPassword = "parley", "callback-password-0001"
	fake := bandwidthtest.New(bandwidthtest.Config{AccountID: account, ApplicationID: app, APIUser: user, APIPassword: password,
		Numbers: []string{carrierNumber}, CallbackUser: cbUser, CallbackPassword: cbPassword, ParleyURL: e.base, PublicURL: publicURL,
		StatusDelay: 10 * time.Millisecond, Unsubscribed: map[string]bool{unsubscribedPhone: true}, HangUpOn: map[string]bool{hangUpPhone: true}})
	serveFake(fake)
	var inboundPath string
	const otherNumber = "+14155550298" // a second channel on the account, with a token of its own
	received := func(id, to string) map[string]any {
		return map[string]any{"type": "message-received", "to": to, "message": map[string]any{
			"id": id, "owner": to, "applicationId": app, "direction": "in", "to": []string{to},
			"from": "+14155550602", "text": "forged", "segmentCount": 1}}
	}
	event := func(id string) []byte {
		b, _ := json.Marshal([]any{received(id, carrierNumber)})
		return b
	}
	// A batch naming another channel's number: each text's channel must
	// accept the request, or nothing of it is taken.
	batch := func(second string) []byte {
		b, _ := json.Marshal([]any{received("b1", carrierNumber), received("b2", second)})
		return b
	}
	post := func(path func() string, body []byte, user, pass string) func() int {
		return func() int {
			h := http.Header{}
			if user != "" {
				req, _ := http.NewRequest(http.MethodPost, "/", nil)
				req.SetBasicAuth(user, pass)
				h = req.Header
			}
			return e.post(path(), "application/json", body, h)
		}
	}
	inbound := func() string { return inboundPath }
	return &fakeCarrier{
		name: "bandwidth",
		channel: map[string]any{"carrier": "bandwidth", "phone_number": carrierNumber, "account_id": account, "auth_token": password,
			"webhook_secret": cbPassword, "options": map[string]any{"application_id": app, "api_username": user}},
		badKey: map[string]any{"auth_token": "not-the-password"},
		rotateSecret: func() string {
			fake.SetCallbackPassword("rotated-callback-password-0002")
			return "rotated-callback-password-0002"
		},
		connected: func(ch map[string]any) {
			if ch["webhook_authentication"] != "basic_auth_and_url_token" {
				t.Errorf("a Bandwidth channel says its webhooks are checked by %v", ch["webhook_authentication"])
			}
			in, st := ch["inbound_webhook_url"].(string), ch["status_webhook_url"].(string)
			fake.SetCallbackURLs(in, st)
			inboundPath = strings.TrimPrefix(in, publicURL)
			other := map[string]any{"carrier": "bandwidth", "phone_number": otherNumber, "inbox_id": ch["inbox_id"], "account_id": account,
				"auth_token": password, "webhook_secret": cbPassword, "options": map[string]any{"application_id": app, "api_username": user}}
			e.must(201, e.admin("POST", "/v1/channels", other))
			// The settings page says so too, beside the URLs to paste.
			admin := e.adminMember()
			b := e.browser()
			b.signIn(admin.Email, admin.Password)
			b.open("/settings/channels")
			card := "#channel-" + ch["id"].(string)
			b.waitText(card, "Bandwidth signs nothing")
			b.waitText(card, "basic-auth credentials and the token in the URLs")
			if got := eval[string](b, `document.querySelector("#inbound-url-`+ch["id"].(string)+`").value`); got != in {
				t.Errorf("the settings page shows %q to paste; want %q", got, in)
			}
		},
		text: func(id, from, body string) int {
			status, err := fake.SendInbound(context.Background(), bandwidthtest.Inbound{ID: id, From: from, To: carrierNumber, Text: body})
			if err != nil {
				t.Fatal(err)
			}
			return status
		},
		sentTo: func(phone string) []string { return bodiesTo(fake.Messages(), phone) },
		forgeries: []forgery{
			{"no credentials", post(inbound, event("f1"), "", ""), 401},
			{"a wrong password", post(inbound, event("f2"), cbUser, "guessed-password-01"), 401},
			{"another channel's token", post(func() string {
				return "/webhooks/bandwidth/" + account + ".000000000000000000000000000000000000000000000000/messages"
			}, event("f3"), cbUser, cbPassword), 403},
			{"an unknown account", post(func() string {
				return strings.Replace(inboundPath, account, "9900009", 1)
			}, event("f4"), cbUser, cbPassword), 404},
			{"not an array", post(inbound, []byte(`{"type":"message-received"}`), cbUser, cbPassword), 400},
			{"a batch with a text for another channel", post(inbound, batch(otherNumber), cbUser, cbPassword), 403},
			{"a batch with a text for no channel", post(inbound, batch("+14155550000"), cbUser, cbPassword), 404},
		},
		close: fake.Close,
	}
}

func newFakeVonage(t *testing.T, e *env, serveFake func(http.Handler)) *fakeCarrier {
	const key, apiSecret, sigSecret = "e2ekey01", "e2e-vonage-secret", "e2e-signature-secret"
	fake := vonagetest.New(vonagetest.Config{APIKey: key, APISecret: apiSecret, SignatureSecret: sigSecret, Method: vonage.MethodSHA256,
		Numbers: []string{carrierNumber}, ParleyURL: e.base, PublicURL: publicURL, StatusDelay: 10 * time.Millisecond,
		Unsubscribed: map[string]bool{unsubscribedPhone: true}, HangUpOn: map[string]bool{hangUpPhone: true}})
	serveFake(fake)
	path := "/webhooks/vonage/" + key + "/messages"
	secret := sigSecret // the channel's, once rotated
	params := func(id, text string, at time.Time, secret string) url.Values {
		p := map[string]string{"msisdn": "14155550602", "to": strings.TrimPrefix(carrierNumber, "+"), "messageId": id, "text": text, "type": "text",
			"api-key": key, "timestamp": strconv.FormatInt(at.Unix(), 10), "nonce": "n-" + id}
		p["sig"] = vonagetest.Sign(p, secret, vonage.MethodSHA256)
		f := url.Values{}
		for k, v := range p {
			f.Set(k, v)
		}
		return f
	}
	form := func(p string, f url.Values) func() int {
		return func() int { return e.post(p, "application/x-www-form-urlencoded", []byte(f.Encode()), nil) }
	}
	send := func(in vonagetest.Inbound, messagesAPI bool) int {
		t.Helper()
		send := fake.SendInbound
		if messagesAPI {
			send = fake.SendInboundMessagesAPI
		}
		status, err := send(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		return status
	}
	return &fakeCarrier{
		name: "vonage",
		channel: map[string]any{"carrier": "vonage", "phone_number": carrierNumber, "account_id": key, "auth_token": apiSecret,
			"webhook_secret": sigSecret, "options": map[string]any{"signature_method": "sha256"}},
		badKey:       map[string]any{"auth_token": "wrong-secret"},
		rotateSecret: func() string { secret = fake.RotateSecret(); return secret },
		text: func(id, from, body string) int {
			return send(vonagetest.Inbound{ID: id, From: from, To: carrierNumber, Text: body}, false)
		},
		sentTo: func(phone string) []string { return bodiesTo(fake.Messages(), phone) },
		forgeries: []forgery{
			{"signed with another secret", form(path, params("f1", "forged", time.Now(), "not-the-secret")), 403},
			{"signed six minutes ago", form(path, params("f2", "replayed", time.Now().Add(-6*time.Minute), sigSecret)), 403},
			{"unsigned", func() int {
				f := params("f3", "hi", time.Now(), sigSecret)
				f.Del("sig")
				return e.post(path, "application/x-www-form-urlencoded", []byte(f.Encode()), nil)
			}, 403},
			// 503, which Vonage retries (CARRIERS.md §3): nothing stored.
			{"a Messages API text without its token", func() int {
				return e.post(path, "application/json", []byte(`{"message_uuid":"f4","from":"14155550602","to":"14155550299","text":"hi","channel":"sms"}`), nil)
			}, 503},
			{"not JSON", func() int { return e.post(path, "application/json", []byte(`msisdn=1`), nil) }, 400},
			{"an unknown API key", form("/webhooks/vonage/unknown1/messages", params("f5", "lost", time.Now(), sigSecret)), 404},
		},
		more: func(alice string) {
			// A long text arrives in three parts, the last first: the
			// thread gets it once, whole; the parts again change nothing.
			long := strings.Repeat("The boiler makes a knocking noise at night. ", 9)
			const erin = "+14155550605"
			for range 2 {
				if got := send(vonagetest.Inbound{ID: "long-1", From: erin, To: carrierNumber, Text: long}, false); got != 200 {
					t.Fatalf("a long text's parts: %d", got)
				}
			}
			if got := e.messagesOf(e.conversationOf(erin)["id"]); len(got) != 1 || got[0] != long {
				t.Errorf("a text in three parts reads %q; want it once, whole", got)
			}
			// The Messages API's signed JSON reaches the same thread.
			if got := send(vonagetest.Inbound{From: erin, To: carrierNumber, Text: "Sent from the Messages API"}, true); got != 200 {
				t.Fatalf("a Messages API text: %d", got)
			}
			if got := e.messagesOf(e.conversationOf(erin)["id"]); len(got) != 2 || got[1] != "Sent from the Messages API" {
				t.Errorf("after a Messages API text the thread reads %q", got)
			}
			// An account set to deliver by GET: the signed parameters in
			// the query.
			if got := e.get(path+"?"+params("get-1", "Sent by GET", time.Now(), secret).Encode(), nil); got != 200 {
				t.Errorf("a text by GET: %d", got)
			}
			if got := e.lastMessageOf("+14155550602"); got != "Sent by GET" {
				t.Errorf("after a text by GET the sender's thread ends with %q", got)
			}
			if got := e.get(path+"?"+params("get-2", "Forged by GET", time.Now(), "not-the-secret").Encode(), nil); got != 403 {
				t.Errorf("a text by GET signed with another secret: %d; want 403", got)
			}
		},
		close: fake.Close,
	}
}

func newFakeBird(t *testing.T, e *env, serveFake func(http.Handler)) *fakeCarrier {
	const workspace, channel, key = "b1d0e2e0-0000-4000-8000-000000000001", "b1d0e2e0-0000-4000-8000-000000000002", "e2e-bird-access-key"
	fake := birdtest.New(birdtest.Config{AccessKey: key, Workspace: workspace, Channel: channel, Number: carrierNumber,
		ParleyURL: e.base, PublicURL: publicURL, StatusDelay: 10 * time.Millisecond, HangUpOn: map[string]bool{hangUpPhone: true}})
	serveFake(fake)
	path := "/webhooks/bird/" + channel + "/messages"
	event := func(id, text, ch string) []byte {
		b, _ := json.Marshal(map[string]any{"service": "channels", "event": "sms.inbound", "payload": map[string]any{
			"id": id, "channelId": ch, "sender": map[string]any{"contact": map[string]any{"identifierValue": "+14155550602"}},
			"body": map[string]any{"type": "text", "text": map[string]any{"text": text}}, "status": "delivered", "direction": "incoming"}})
		return b
	}
	signed := func(p string, body []byte, signingKey string, at time.Time) func() int {
		return func() int {
			ts := strconv.FormatInt(at.Unix(), 10)
			return e.post(p, "application/json", body, http.Header{bird.SignatureHeader: {birdtest.Sign(signingKey, ts, publicURL+p, body)},
				bird.TimestampHeader: {ts}})
		}
	}
	return &fakeCarrier{
		name: "bird",
		channel: map[string]any{"carrier": "bird", "phone_number": carrierNumber, "account_id": channel, "auth_token": key,
			"webhook_secret": fake.SigningKey(), "options": map[string]any{"workspace_id": workspace}},
		badKey:       map[string]any{"auth_token": "not-the-access-key"},
		rotateSecret: fake.RotateKey,
		noOptOutCode: true,
		text: func(id, from, body string) int {
			status, err := fake.SendInbound(context.Background(), birdtest.Inbound{ID: id, From: from, To: carrierNumber, Text: body})
			if err != nil {
				t.Fatal(err)
			}
			return status
		},
		sentTo: func(phone string) []string { return bodiesTo(fake.Messages(), phone) },
		forgeries: []forgery{
			{"signed with another key", signed(path, event("f1", "forged", channel), "not-the-signing-key-0001", time.Now()), 403},
			{"signed six minutes ago", signed(path, event("f2", "replayed", channel), fake.SigningKey(), time.Now().Add(-6*time.Minute)), 403},
			{"signed over the request's own host", func() int {
				body, ts := event("f3", "hi", channel), strconv.FormatInt(time.Now().Unix(), 10)
				return e.post(path, "application/json", body, http.Header{bird.SignatureHeader: {birdtest.Sign(fake.SigningKey(), ts, e.base+path, body)},
					bird.TimestampHeader: {ts}})
			}, 403},
			{"not JSON", signed(path, []byte("text=hi"), fake.SigningKey(), time.Now()), 400},
			{"an unknown channel", signed("/webhooks/bird/b1d0e2e0-0000-4000-8000-000000000009/messages",
				event("f4", "lost", "b1d0e2e0-0000-4000-8000-000000000009"), fake.SigningKey(), time.Now()), 404},
			{"another channel's text at this channel's URL", signed(path, event("f5", "crossed", "b1d0e2e0-0000-4000-8000-000000000009"), fake.SigningKey(), time.Now()), 404},
		},
		close: fake.Close,
	}
}

func newFakePlivo(t *testing.T, e *env, serveFake func(http.Handler)) *fakeCarrier {
	const authID, token = "MAE2E000000000000001", "e2e-plivo-token"
	fake := plivotest.New(plivotest.Config{AuthID: authID, AuthToken: token, Numbers: []string{carrierNumber},
		ParleyURL: e.base, PublicURL: publicURL, StatusDelay: 10 * time.Millisecond, Unsubscribed: map[string]bool{unsubscribedPhone: true}, HangUpOn: map[string]bool{hangUpPhone: true}})
	serveFake(fake)
	path := "/webhooks/plivo/" + authID + "/messages"
	form := func(id, from, text string) url.Values {
		return url.Values{"MessageUUID": {id}, "From": {strings.TrimPrefix(from, "+")}, "To": {strings.TrimPrefix(carrierNumber, "+")},
			"Type": {"sms"}, "Text": {text}, "Units": {"1"}}
	}
	signed := func(p string, f url.Values, key string, v3 bool) func() int {
		return func() int {
			h := http.Header{}
			if v3 {
				h.Set(plivo.HeaderV3, plivo.SignV3(key, publicURL+p, "POST", "n1", f))
				h.Set(plivo.HeaderV3Nonce, "n1")
			} else {
				h.Set(plivo.HeaderV2, plivo.SignV2(key, publicURL+p, "n1"))
				h.Set(plivo.HeaderV2Nonce, "n1")
			}
			return e.post(p, "application/x-www-form-urlencoded", []byte(f.Encode()), h)
		}
	}
	const alice, bob = "+14155550601", "+14155550602"
	return &fakeCarrier{
		name:    "plivo",
		channel: map[string]any{"carrier": "plivo", "phone_number": carrierNumber, "account_id": authID, "auth_token": token},
		badKey:  map[string]any{"auth_token": "wrong-token"},
		text: func(id, from, body string) int {
			status, err := fake.SendInbound(context.Background(), plivotest.Inbound{ID: id, From: from, To: carrierNumber, Text: body})
			if err != nil {
				t.Fatal(err)
			}
			return status
		},
		sentTo: func(phone string) []string { return bodiesTo(fake.Messages(), phone) },
		forgeries: []forgery{
			{"V3 with another token", signed(path, form("f1", bob, "forged"), "not-the-token", true), 403},
			{"V3 of other words", func() int {
				f := form("f2", bob, "what was signed")
				h := http.Header{plivo.HeaderV3: {plivo.SignV3(token, publicURL+path, "POST", "n1", f)}, plivo.HeaderV3Nonce: {"n1"}}
				f.Set("Text", "what was sent")
				return e.post(path, "application/x-www-form-urlencoded", []byte(f.Encode()), h)
			}, 403},
			{"a V2 signature seen on a real text, with another body", func() int {
				// V2 signs the URL and the nonce only: the nonce is kept
				// to the body it first came with.
				h := http.Header{plivo.HeaderV2: {plivo.SignV2(token, publicURL+path, "seen-1")}, plivo.HeaderV2Nonce: {"seen-1"}}
				if got := e.post(path, "application/x-www-form-urlencoded", []byte(form("f3-real", alice, "See you at 9").Encode()), h); got != 200 {
					t.Errorf("the real text the signature was seen on: %d", got)
				}
				return e.post(path, "application/x-www-form-urlencoded", []byte(form("f3", bob, "forged").Encode()), h)
			}, 403},
			{"V2 with another token", signed(path, form("f6", bob, "forged"), "not-the-token", false), 403},
			{"unsigned", func() int {
				return e.post(path, "application/x-www-form-urlencoded", []byte(form("f4", bob, "hi").Encode()), nil)
			}, 403},
			{"JSON", func() int { return e.post(path, "application/json", []byte(`{"Text":"hi"}`), nil) }, 400},
			{"an unknown Auth ID", signed("/webhooks/plivo/MAE2E000000000000009/messages", form("f5", bob, "lost"), token, true), 404},
		},
		more: func(string) {
			// An application set to deliver by GET: V2 signs the URL
			// without its query, and the nonce is kept to the query.
			h := http.Header{plivo.HeaderV2: {plivo.SignV2(token, publicURL+path, "get-n1")}, plivo.HeaderV2Nonce: {"get-n1"}}
			if got := e.get(path+"?"+form("get-1", bob, "Sent by GET").Encode(), h); got != 200 {
				t.Errorf("a text by GET: %d", got)
			}
			if got := e.lastMessageOf(bob); got != "Sent by GET" {
				t.Errorf("after a text by GET bob's thread ends with %q", got)
			}
			if got := e.get(path+"?"+form("get-2", bob, "Forged by GET").Encode(), h); got != 403 {
				t.Errorf("the GET's V2 signature on another query: %d; want 403", got)
			}
			// Plivo's compliance keywords took a text for an opt-out:
			// Plivo blocks the phone, and Parley records it too.
			const carol = "+14155550609"
			f := form("intent-1", carol, "please no more")
			f.Set("MessageIntent", "optout")
			if got := signed(path, f, token, true)(); got != 200 {
				t.Errorf("a text Plivo took for an opt-out: %d", got)
			}
			if o := e.must(200, e.admin("GET", "/v1/optouts?phone="+url.QueryEscape(carol), nil)); o["opted_out"] != true || o["keyword"] != "PLEASE NO MORE" {
				t.Errorf("after a text Plivo took for an opt-out, the register says %v", o)
			}
		},
		close: fake.Close,
	}
}
