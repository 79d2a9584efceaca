package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
	"github.com/parleyhq/parley/store/storetest"
)

// hookReceiver is an integration's webhook endpoint: it answers with the
// statuses it is given (then 200) and keeps every delivery.
type hookReceiver struct {
	mu       sync.Mutex
	statuses []int
	got      []hookRequest
	srv      *httptest.Server
}

type hookRequest struct {
	header http.Header
	body   []byte
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, hookRequest{r.Header.Clone(), body})
		status := http.StatusOK
		if len(h.statuses) > 0 {
			status, h.statuses = h.statuses[0], h.statuses[1:]
		}
		h.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "answer "+http.StatusText(status))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) answer(statuses ...int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.statuses = append(h.statuses, statuses...)
}

func (h *hookReceiver) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.got...)
}

// withPrivateWebhooks is PARLEY_WEBHOOK_ALLOW_PRIVATE=true: the receivers
// listen on loopback.
func withPrivateWebhooks() envOption {
	return func(c *Config, _ *twiliotest.Config) { c.allowPrivate = true }
}

// verify checks a delivery's signature with secret, as a receiver would.
func verify(t *testing.T, secret string, r hookRequest) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.VerifyIgnoringTimestamp(r.body, r.header); err != nil {
		t.Fatalf("signature of %s does not verify with the endpoint's secret: %v", r.body, err)
	}
}

// TestWebhookTestEventSignedRetriedAndLogged: an admin registers an
// endpoint and sends a test event; the receiver fails it once with 500,
// gets it again with the same id and bytes, both verify with the secret
// shown at creation, and the delivery log tells the story.
func TestWebhookTestEventSignedRetriedAndLogged(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	e := boot(t, "", withPrivateWebhooks(), withClock(clock))
	rc := newHookReceiver(t)

	ep := e.must(201, e.admin("POST", "/v1/webhook-endpoints", map[string]any{
		"url": rc.srv.URL + "/hook", "events": []string{"message.created"}, "description": "CRM"}))
	secret, _ := ep["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || ep["enabled"] != true {
		t.Fatalf("created %v", ep)
	}
	id := ep["id"].(string)
	if got := e.must(200, e.admin("GET", "/v1/webhook-endpoints/"+id, nil)); got["secret"] != nil {
		t.Fatal("GET shows the secret again")
	}

	rc.answer(500)
	e.must(202, e.admin("POST", "/v1/webhook-endpoints/"+id+"/test", nil))
	e.eventually("the first attempt", func() bool {
		ds := e.must(200, e.admin("GET", "/v1/webhook-endpoints/"+id+"/deliveries", nil))["data"].([]any)
		return len(ds) == 1 && ds[0].(map[string]any)["attempts"] == float64(1)
	})
	d := e.admin("GET", "/v1/webhook-endpoints/"+id+"/deliveries", nil).Data()[0]
	if d["state"] != "pending" || d["status_code"] != float64(500) || d["next_attempt_at"] == nil ||
		d["event_type"] != "webhook.test" || !strings.Contains(d["response_excerpt"].(string), "Internal Server Error") {
		t.Fatalf("after a 500 the log says %v", d)
	}
	clock.Advance(10 * time.Second) // past the first backoff
	e.eventually("the retry", func() bool { return len(rc.requests()) == 2 })
	e.eventually("the success recorded", func() bool {
		return e.admin("GET", "/v1/webhook-endpoints/"+id+"/deliveries", nil).Data()[0]["state"] == "succeeded"
	})
	got := rc.requests()
	for _, r := range got {
		verify(t, secret, r)
	}
	if got[0].header.Get("webhook-id") != got[1].header.Get("webhook-id") || string(got[0].body) != string(got[1].body) {
		t.Fatalf("the retry differs: %s %s / %s %s", got[0].header.Get("webhook-id"), got[0].body, got[1].header.Get("webhook-id"), got[1].body)
	}
	if !strings.Contains(string(got[0].body), `"type":"webhook.test"`) {
		t.Fatalf("body %s", got[0].body)
	}
	d = e.admin("GET", "/v1/webhook-endpoints/"+id+"/deliveries", nil).Data()[0]
	if d["attempts"] != float64(2) || d["status_code"] != float64(200) || d["delivered_at"] == nil || d["next_attempt_at"] != nil {
		t.Fatalf("after the 200 the log says %v", d)
	}

	// A manual retry sends it once more, the same.
	e.must(202, e.admin("POST", "/v1/webhook-endpoints/"+id+"/deliveries/"+d["id"].(string)+"/retry", nil))
	e.eventually("the manual retry", func() bool { return len(rc.requests()) == 3 })
	if r := rc.requests()[2]; r.header.Get("webhook-id") != got[0].header.Get("webhook-id") {
		t.Fatal("a manual retry changed the webhook-id")
	}
}

// TestWebhookSecretRotationSignsTwice: after a rotation each delivery
// carries two signatures, and receivers on either secret verify it.
func TestWebhookSecretRotationSignsTwice(t *testing.T) {
	e := boot(t, "", withPrivateWebhooks())
	rc := newHookReceiver(t)
	ep := e.must(201, e.admin("POST", "/v1/webhook-endpoints", map[string]any{"url": rc.srv.URL, "events": []string{"*"}}))
	id, oldSecret := ep["id"].(string), ep["secret"].(string)
	if len(ep["events"].([]any)) != 10 { // every type API.md lists
		t.Fatalf("* subscribed to %v", ep["events"])
	}
	rotated := e.must(200, e.admin("POST", "/v1/webhook-endpoints/"+id+"/rotate-secret", nil))
	newSecret, _ := rotated["secret"].(string)
	if newSecret == "" || newSecret == oldSecret || rotated["previous_secret_expires_at"] == nil {
		t.Fatalf("rotated %v", rotated)
	}
	e.must(202, e.admin("POST", "/v1/webhook-endpoints/"+id+"/test", nil))
	e.eventually("the test event", func() bool { return len(rc.requests()) == 1 })
	r := rc.requests()[0]
	if n := len(strings.Fields(r.header.Get("webhook-signature"))); n != 2 {
		t.Fatalf("%d signatures during the rotation, want 2", n)
	}
	verify(t, newSecret, r)
	verify(t, oldSecret, r)
}

// TestWebhookGoneDisablesTheEndpoint: a 410 disables the endpoint and
// tells the admin; re-enabling it clears that.
func TestWebhookGoneDisablesTheEndpoint(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect), withPrivateWebhooks())
			rc := newHookReceiver(t)
			id := e.must(201, e.admin("POST", "/v1/webhook-endpoints", map[string]any{"url": rc.srv.URL, "events": []string{"message.created"}}))["id"].(string)
			rc.answer(http.StatusGone)
			e.must(202, e.admin("POST", "/v1/webhook-endpoints/"+id+"/test", nil))
			e.eventually("the endpoint disabled", func() bool {
				return e.must(200, e.admin("GET", "/v1/webhook-endpoints/"+id, nil))["enabled"] == false
			})
			ep := e.admin("GET", "/v1/webhook-endpoints/"+id, nil).JSON()
			if ep["disabled_reason"] != "endpoint_gone" || ep["disabled_at"] == nil {
				t.Fatalf("disabled endpoint %v", ep)
			}
			ns := e.admin("GET", "/v1/notifications", nil).Data()
			if len(ns) != 1 || ns[0]["kind"] != "webhook_endpoint_disabled" || ns[0]["webhook_endpoint_id"] != id || ns[0]["conversation_id"] != nil {
				t.Fatalf("the admin's notifications: %v", ns)
			}
			// Disabled, it takes nothing; re-enabled, the test event queued meanwhile goes out.
			e.must(202, e.admin("POST", "/v1/webhook-endpoints/"+id+"/test", nil))
			time.Sleep(100 * time.Millisecond)
			if n := len(rc.requests()); n != 1 {
				t.Fatalf("a disabled endpoint got %d requests", n)
			}
			// Retrying the gone delivery while disabled is refused, not
			// "pending" with nothing sent, and changes nothing.
			deliveries := func() string {
				b, _ := json.Marshal(e.admin("GET", "/v1/webhook-endpoints/"+id+"/deliveries", nil).Data())
				return string(b)
			}
			ds := e.admin("GET", "/v1/webhook-endpoints/"+id+"/deliveries", nil).Data()
			gone := ds[len(ds)-1]["id"].(string) // newest first: the first test event
			before := deliveries()
			r := e.admin("POST", "/v1/webhook-endpoints/"+id+"/deliveries/"+gone+"/retry", nil)
			wantAPIError(t, r, 409, "webhook_endpoint_disabled")
			if msg := fmt.Sprint(r.JSON()["error"]); !strings.Contains(msg, "disabled") || !strings.Contains(msg, "enable it first") {
				t.Errorf("the refusal is %s; want it to say the endpoint is disabled and must be enabled first", msg)
			}
			if after := deliveries(); after != before {
				t.Errorf("a refused retry changed the deliveries:\n%s\n%s", before, after)
			}
			ep = e.must(200, e.admin("PATCH", "/v1/webhook-endpoints/"+id, map[string]any{"enabled": true}))
			if ep["enabled"] != true || ep["disabled_reason"] != nil || ep["failing_since"] != nil {
				t.Fatalf("re-enabled %v", ep)
			}
			e.eventually("the queued test event", func() bool { return len(rc.requests()) == 2 })
			// Enabled, the retry goes out.
			e.must(202, e.admin("POST", "/v1/webhook-endpoints/"+id+"/deliveries/"+gone+"/retry", nil))
			e.eventually("the retried delivery", func() bool { return len(rc.requests()) == 3 })
		})
	}
}

// TestWebhookEndpointsAreAdminsAndValidated: validation names the field,
// an agent is refused, another account sees nothing.
func TestWebhookEndpointsAreAdminsAndValidated(t *testing.T) {
	e := boot(t, "")
	for _, tc := range []struct {
		body        map[string]any
		field, code string
	}{
		{map[string]any{"url": "ftp://hooks.example.com/", "events": []string{"message.created"}}, "url", "validation_failed"},
		{map[string]any{"url": "https://user:pw@hooks.example.com/", "events": []string{"message.created"}}, "url", "validation_failed"},
		{map[string]any{"url": "https://hooks.example.com/", "events": []string{}}, "events", "validation_failed"},
		{map[string]any{"url": "https://hooks.example.com/", "events": []string{"user.updated"}}, "events", "validation_failed"},
		{map[string]any{"url": "http://127.0.0.1:9/hook", "events": []string{"message.created"}}, "url", "webhook_url_forbidden"},
		{map[string]any{"url": "http://[::ffff:169.254.169.254]/", "events": []string{"message.created"}}, "url", "webhook_url_forbidden"},
	} {
		r := e.admin("POST", "/v1/webhook-endpoints", tc.body)
		fields, _ := r.JSON()["error"].(map[string]any)["fields"].(map[string]any)
		if r.Status != 422 || r.ErrorCode() != tc.code || fields[tc.field] == nil {
			t.Errorf("%v: %d %s, want 422 %s on %s", tc.body, r.Status, r.Body, tc.code, tc.field)
		}
	}
	agent := e.must(201, e.admin("POST", "/v1/users", map[string]any{"email": "agent@example.com", "name": "Agent", "role": "agent"}))["token"].(string)
	if r := e.call(agent, "GET", "/v1/webhook-endpoints", nil); r.Status != 403 {
		t.Fatalf("an agent listing endpoints: %d", r.Status)
	}
	other := e.newAccount("Other")
	// The other account's endpoint: 93.184.216.34 is public, no DNS needed.
	id := e.must(201, e.call(other, "POST", "/v1/webhook-endpoints", map[string]any{"url": "https://93.184.216.34/hook", "events": []string{"note.created"}}))["id"].(string)
	for _, path := range []string{"/v1/webhook-endpoints/" + id, "/v1/webhook-endpoints/" + id + "/deliveries"} {
		if r := e.admin("GET", path, nil); r.Status != 404 {
			t.Errorf("GET %s of another account: %d", path, r.Status)
		}
	}
	if r := e.admin("DELETE", "/v1/webhook-endpoints/"+id, nil); r.Status != 404 {
		t.Errorf("DELETE of another account's endpoint: %d", r.Status)
	}
	if n := len(e.call(other, "GET", "/v1/webhook-endpoints", nil).Data()); n != 1 {
		t.Fatalf("the other account lists %d endpoints", n)
	}
	e.must(204, e.call(other, "DELETE", "/v1/webhook-endpoints/"+id, nil))
}

// rebindingResolver answers one host a public address until told to
// answer loopback: DNS rebinding.
type rebindingResolver struct {
	mu sync.Mutex
	ip string
}

func (r *rebindingResolver) set(ip string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ip = ip
}

func (r *rebindingResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return []net.IPAddr{{IP: net.ParseIP(r.ip)}}, nil
}

// TestWebhookDNSRebindingIsRefusedAndLogged: a host that resolved to a
// public address when registered resolves to loopback when the delivery
// is made. Parley does not connect, and the delivery log says why.
func TestWebhookDNSRebindingIsRefusedAndLogged(t *testing.T) {
	dns := &rebindingResolver{ip: "93.184.216.34"}
	e := boot(t, "", func(c *Config, _ *twiliotest.Config) { c.resolver = dns })
	rc := newHookReceiver(t)
	port := rc.srv.Listener.Addr().(*net.TCPAddr).Port
	id := e.must(201, e.admin("POST", "/v1/webhook-endpoints", map[string]any{
		"url": fmt.Sprintf("http://hooks.rebind.example:%d/hook", port), "events": []string{"message.created"}}))["id"].(string)
	dns.set("127.0.0.1")
	e.must(202, e.admin("POST", "/v1/webhook-endpoints/"+id+"/test", nil))
	e.eventually("the attempt recorded", func() bool {
		ds := e.admin("GET", "/v1/webhook-endpoints/"+id+"/deliveries", nil).Data()
		return len(ds) == 1 && ds[0]["attempts"] == float64(1)
	})
	d := e.admin("GET", "/v1/webhook-endpoints/"+id+"/deliveries", nil).Data()[0]
	if d["state"] != "failed" || d["status_code"] != nil || !strings.Contains(fmt.Sprint(d["error"]), "not a public address: 127.0.0.1") {
		t.Fatalf("the delivery log says %v", d)
	}
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("the receiver on loopback got %d requests", n)
	}
	// Registering the rebound host now is refused outright.
	r := e.admin("POST", "/v1/webhook-endpoints", map[string]any{
		"url": fmt.Sprintf("http://hooks.rebind.example:%d/other", port), "events": []string{"message.created"}})
	if r.Status != 422 || r.ErrorCode() != "webhook_url_forbidden" {
		t.Fatalf("registering a host resolving to loopback: %d %s", r.Status, r.Body)
	}
}

// TestWebhookInboundTextIsDelivered: a text arrives through the carrier
// and the endpoint subscribed to message.created receives it, signed, its
// data the message as GET returns it.
// The delivery is woken by the commit that booked it: the deliverer's
// poll is set to an hour here.
func TestWebhookInboundTextIsDelivered(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect), withPrivateWebhooks(), func(c *Config, _ *twiliotest.Config) { c.webhookPoll = time.Hour })
			e.setupChannel(nil)
			rc := newHookReceiver(t)
			secret := e.must(201, e.admin("POST", "/v1/webhook-endpoints", map[string]any{
				"url": rc.srv.URL + "/hook", "events": []string{"message.created"}}))["secret"].(string)
			e.text("+14155551234", "Is the shop open on Sunday?")
			e.eventually("the delivery", func() bool { return len(rc.requests()) == 1 })
			r := rc.requests()[0]
			verify(t, secret, r)
			var body struct {
				Type      string         `json:"type"`
				Timestamp time.Time      `json:"timestamp"`
				Data      map[string]any `json:"data"`
			}
			if err := json.Unmarshal(r.body, &body); err != nil || body.Type != "message.created" || body.Timestamp.IsZero() {
				t.Fatalf("body %s (%v)", r.body, err)
			}
			conv := e.admin("GET", "/v1/conversations", nil).Data()[0]
			msgs := e.admin("GET", "/v1/conversations/"+conv["id"].(string)+"/messages", nil).Data()
			if len(msgs) != 1 || !sameJSON(body.Data, msgs[0]) {
				t.Fatalf("delivered %v; the conversation %v has %v", body.Data, conv["id"], msgs)
			}
			time.Sleep(100 * time.Millisecond)
			if n := len(rc.requests()); n != 1 {
				t.Fatalf("%d deliveries for one text subscribed to message.created only", n)
			}
		})
	}
}
